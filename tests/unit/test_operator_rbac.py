"""The operator's own RBAC: explicit, no escalation paths, no Secrets, and enough to grant."""

from __future__ import annotations

from typing import Any

import pytest

from nidc.operator_rbac import build_operator_cluster_role
from operators.tenant.build import ROLES, build_role_rules

pytestmark = pytest.mark.unit

RULES = build_operator_cluster_role()["rules"]


def test_no_wildcards_anywhere() -> None:
    for rule in RULES:
        for key in ("apiGroups", "resources", "verbs"):
            assert "*" not in rule[key], rule
        assert not rule.get("nonResourceURLs"), rule


def test_no_escalation_verbs() -> None:
    verbs = {verb for rule in RULES for verb in rule["verbs"]}
    assert not verbs & {"escalate", "bind", "impersonate", "*"}


def test_no_secret_access_at_all() -> None:
    for rule in RULES:
        if "" in rule["apiGroups"]:
            assert "secrets" not in rule["resources"], rule


def allows(rules: list[dict[str, Any]], group: str, resource: str, verb: str) -> bool:
    return any(
        group in r["apiGroups"] and resource in r["resources"] and verb in r["verbs"] for r in rules
    )


@pytest.mark.parametrize("role", ROLES)
def test_operator_holds_every_permission_it_grants(role: str) -> None:
    # Without `bind`/`escalate`, Kubernetes refuses a Role granting more than its creator has.
    for rule in build_role_rules(role):
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                for verb in rule["verbs"]:
                    assert allows(RULES, group, resource, verb), (role, group, resource, verb)


def test_operator_holds_what_it_grants_spark_drivers() -> None:
    # The Kubernetes runner applies the driver Role; the same escalation rule applies.
    from operators.runs.kubernetes_build import DRIVER_ROLE_RULES

    for rule in DRIVER_ROLE_RULES:
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                for verb in rule["verbs"]:
                    assert allows(RULES, group, resource, verb), (group, resource, verb)
