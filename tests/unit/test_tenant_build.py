"""The Tenant builders: what a tenant gets, as plain data."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from nidc.api.addressing import TenantNames
from nidc.api.tenant import Tenant, TenantSpec
from operators.reconciling.conditions import Outcome, build_conditions
from operators.tenant.build import (
    build_children,
    build_openbao_policy,
    build_openbao_role,
    build_role_rules,
    build_s3_policy,
)
from operators.tenant.reconcile import build_status, provisioned, reconcile, validate

pytestmark = pytest.mark.unit

SPEC = TenantSpec.model_validate(
    {
        "displayName": "Steel",
        "owner": {"name": "Wang Li", "email": "w@steel.cn"},
        "region": "east",
        "quotas": {"gpus": 2},
    }
)


def by_kind(kind: str) -> list[dict]:  # type: ignore[type-arg]
    return [c for c in build_children("steel", SPEC) if c["kind"] == kind]


def test_namespace_first_and_everything_else_inside_it() -> None:
    children = build_children("steel", SPEC)
    assert children[0]["kind"] == "Namespace"
    assert children[0]["metadata"]["labels"]["nidc.io/tenant"] == "steel"
    for child in children[1:]:
        if child["kind"] not in ("ClusterRole", "ClusterRoleBinding"):
            assert child["metadata"]["namespace"] == "steel", child["kind"]


def test_quota_includes_gpus() -> None:
    (quota,) = by_kind("ResourceQuota")
    assert quota["spec"]["hard"]["requests.nvidia.com/gpu"] == "2"


def test_default_deny_network_policy() -> None:
    deny = next(p for p in by_kind("NetworkPolicy") if p["metadata"]["name"] == "default-deny")
    assert deny["spec"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}


def test_roles_bind_the_tenant_groups_and_grant_no_secrets() -> None:
    bindings = {b["metadata"]["name"]: b for b in by_kind("RoleBinding")}
    assert bindings["nidc-tenant-analyst"]["subjects"][0]["name"] == ("nidc:tenant:steel:analysts")
    for role in ("admin", "engineer", "analyst"):
        for rule in build_role_rules(role):
            assert "secrets" not in rule["resources"]
    analyst_verbs = {v for r in build_role_rules("analyst") for v in r["verbs"]}
    assert analyst_verbs == {"get", "list", "watch"}


def test_tenant_reader_names_only_its_own_tenant() -> None:
    (reader,) = by_kind("ClusterRole")
    assert reader["rules"][0]["resourceNames"] == ["steel"]


def test_openbao_and_s3_policies_stay_inside_the_tenant() -> None:
    names = TenantNames("steel")
    hcl = build_openbao_policy(names)
    assert 'path "secret/data/tenants/steel/*"' in hcl
    assert hcl.count("path ") == 4
    assert 'path "secret/data/tenants/steel/shares/*" {\n  capabilities = ["read", "list"]' in hcl
    role = build_openbao_role(names)
    assert role["bound_service_account_namespaces"] == ["steel"]
    resources = {r for s in build_s3_policy(names)["Statement"] for r in s["Resource"]}
    assert resources == {"arn:aws:s3:::tenant-steel", "arn:aws:s3:::tenant-steel/*"}


NOW = dt.datetime(2026, 11, 30, 4, 0, tzinfo=dt.UTC)


def tenant_body(name: str = "steel", **spec: object) -> dict[str, object]:
    return {
        "apiVersion": "nidc.io/v1alpha1",
        "kind": "Tenant",
        "metadata": {"name": name, "uid": "u-1", "generation": 3},
        "spec": {**SPEC.model_dump(by_alias=True, mode="json"), **spec},
    }


def test_reserved_names_are_refused() -> None:
    (problem,) = validate(Tenant.from_body(tenant_body("kube-system")))
    assert problem.reason == "InvalidSpec" and "reserved" in problem.message
    assert validate(Tenant.from_body(tenant_body())) == []


def test_a_spec_that_does_not_parse_is_invalid_naming_the_field() -> None:
    # reconcile() returns before any I/O, so no context is needed to see the status.
    status = reconcile(tenant_body(quotas={"cpu": "lots"}), None, NOW)  # type: ignore[arg-type]
    degraded = next(c for c in status["conditions"] if c["type"] == "Degraded")
    assert degraded["reason"] == "InvalidSpec" and "spec.quotas.cpu" in degraded["message"]
    assert degraded["lastTransitionTime"] == "2026-11-30T04:00:00Z"
    assert status["observedGeneration"] == 3


def test_status_names_what_was_provisioned_with_the_clock_passed_in() -> None:
    tenant = Tenant.from_body(tenant_body())
    status = build_status(tenant, provisioned(TenantNames("steel")), NOW)
    assert (status["bucket"], status["openBaoRole"]) == ("tenant-steel", "tenant-steel")
    ready = next(c for c in status["conditions"] if c["type"] == "Ready")
    assert ready["status"] == "True" and ready["lastTransitionTime"] == "2026-11-30T04:00:00Z"


def test_condition_transition_time_moves_only_on_change() -> None:
    first = build_conditions([], Outcome(True, "Provisioned", "ok"), 1, now="T1")
    same = build_conditions(first, Outcome(True, "Provisioned", "ok"), 2, now="T2")
    flipped = build_conditions(same, Outcome(False, "Broken", "no", degraded=True), 3, now="T3")

    def ready(conditions: list[dict[str, Any]]) -> dict[str, Any]:
        return next(c for c in conditions if c["type"] == "Ready")

    assert ready(same)["lastTransitionTime"] == "T1"
    assert ready(same)["observedGeneration"] == 2
    assert ready(flipped)["lastTransitionTime"] == "T3"
    degraded = next(c for c in flipped if c["type"] == "Degraded")
    assert degraded["status"] == "True"
    assert degraded["reason"] == "Broken"
