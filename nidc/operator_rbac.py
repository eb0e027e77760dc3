"""The operator's own RBAC, as data: explicit resources and verbs, nothing more (read by the
operators and by the stacks, which install it on a cluster).

No wildcards, no `escalate`, `bind` or `impersonate`, and no cluster-wide Secret access. Since it
has no `bind`, the operator must itself hold every permission it grants in a tenant Role; the
unit test of this module checks that too.
"""

from __future__ import annotations

from typing import Any

from nidc.api.kinds import ALL_KINDS
from nidc.api.schema import GROUP

READ = ["get", "list", "watch"]
MANAGE = ["get", "list", "watch", "create", "update", "patch", "delete"]
OPERATOR_NAME = "nidc-operator"
OPERATOR_NAMESPACE = "nidc-system"


def build_operator_cluster_role() -> dict[str, Any]:
    """The ClusterRole of the operator's service account."""
    plurals = sorted(k.plural for k in ALL_KINDS)
    rules: list[dict[str, Any]] = [
        {"apiGroups": [GROUP], "resources": plurals, "verbs": MANAGE},
        {
            "apiGroups": [GROUP],
            "resources": [f"{p}/status" for p in plurals],
            "verbs": ["get", "update", "patch"],
        },
        {"apiGroups": [""], "resources": ["namespaces"], "verbs": MANAGE},
        {
            "apiGroups": [""],
            "resources": ["resourcequotas", "limitranges", "serviceaccounts"],
            "verbs": MANAGE,
        },
        {"apiGroups": [""], "resources": ["configmaps"], "verbs": [*MANAGE, "deletecollection"]},
        # The Kubernetes runner grants its driver pods executor management (pods, configmaps,
        # deletecollection included), which it may only do while holding it itself.
        {"apiGroups": [""], "resources": ["pods"], "verbs": [*MANAGE, "deletecollection"]},
        {"apiGroups": [""], "resources": ["pods/log", "services"], "verbs": READ},
        {
            "apiGroups": [""],
            "resources": ["events"],
            "verbs": ["get", "list", "watch", "create", "patch"],
        },
        {"apiGroups": ["events.k8s.io"], "resources": ["events"], "verbs": ["create", "patch"]},
        # Device collectors run as one-replica Deployments (operators/collectors/kubernetes.py).
        {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": MANAGE},
        {"apiGroups": ["batch"], "resources": ["jobs"], "verbs": MANAGE},
        {"apiGroups": ["networking.k8s.io"], "resources": ["networkpolicies"], "verbs": MANAGE},
        {
            "apiGroups": ["rbac.authorization.k8s.io"],
            "resources": ["roles", "rolebindings", "clusterroles", "clusterrolebindings"],
            "verbs": MANAGE,
        },
        {
            "apiGroups": ["apiextensions.k8s.io"],
            "resources": ["customresourcedefinitions"],
            "verbs": READ,
        },
        {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": MANAGE},
        # kopf peering: replicas announce themselves; the highest priority alive is active.
        {
            "apiGroups": ["kopf.dev"],
            "resources": ["clusterkopfpeerings"],
            "verbs": ["get", "list", "watch", "patch"],
        },
    ]
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": OPERATOR_NAME, "labels": {"app.kubernetes.io/part-of": "nidc"}},
        "rules": rules,
    }


def build_operator_identity() -> list[dict[str, Any]]:
    """Namespace, service account and binding the operator runs as."""
    return [
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {
                "name": OPERATOR_NAMESPACE,
                "labels": {"app.kubernetes.io/part-of": "nidc", f"{GROUP}/platform": "true"},
            },
        },
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": OPERATOR_NAME, "namespace": OPERATOR_NAMESPACE},
        },
        build_operator_cluster_role(),
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": OPERATOR_NAME},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": OPERATOR_NAME,
            },
            "subjects": [
                {"kind": "ServiceAccount", "name": OPERATOR_NAME, "namespace": OPERATOR_NAMESPACE}
            ],
        },
    ]
