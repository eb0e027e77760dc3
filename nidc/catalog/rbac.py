"""What the catalog may do in Kubernetes: read the kinds that make tables (and the
classification policies' category titles), and ask TokenReviews. Pure builders, used by the
local platform (a client-certificate user) and the stack (a service account)."""

from __future__ import annotations

from typing import Any

from nidc.api.schema import GROUP

CLUSTER_ROLE = "nidc:catalog"
READ_KINDS = (
    "tenants",
    "datasources",
    "dataproducts",
    "datagrants",
    "datashares",
    "datareplications",
    "pipelineruns",  # the console's recent runs and trace links (issue 18)
    "classificationpolicies",
    "clusterclassificationpolicies",
)
PART_OF = {"app.kubernetes.io/part-of": "nidc", "app.kubernetes.io/component": "catalog"}


def build_catalog_rbac(subject: dict[str, str], name: str = CLUSTER_ROLE) -> list[dict[str, Any]]:
    """A ClusterRole that reads the resources, bound to `subject`, and the subject bound to
    system:auth-delegator (TokenReview) as every delegating API server is. `name` names the
    cluster-wide objects: a stack's catalog takes its own, so that it never contends with a
    catalog already bound on the same cluster (the local platform's, `nidc:catalog`)."""
    role = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": name, "labels": PART_OF},
        "rules": [
            {"apiGroups": [GROUP], "resources": list(READ_KINDS), "verbs": ["get", "list", "watch"]}
        ],
    }

    def binding(name: str, role_name: str) -> dict[str, Any]:
        return {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": name, "labels": PART_OF},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": role_name,
            },
            "subjects": [subject],
        }

    return [
        role,
        binding(name, name),
        binding(f"{name}:auth-delegator", "system:auth-delegator"),
    ]


def user_subject(user: str) -> dict[str, str]:
    return {"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": user}


def service_account_subject(namespace: str, name: str) -> dict[str, str]:
    return {"kind": "ServiceAccount", "namespace": namespace, "name": name}
