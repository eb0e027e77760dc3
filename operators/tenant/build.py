"""Pure builders: a Tenant in, the Kubernetes objects and access policies it needs out."""

from __future__ import annotations

from typing import Any

from nidc.api.addressing import TenantNames
from nidc.api.schema import GROUP
from nidc.api.tenant import TenantSpec, tenant_group

TENANT_LABEL = f"{GROUP}/tenant"
PART_OF = {"app.kubernetes.io/part-of": "nidc", "app.kubernetes.io/managed-by": "nidc-operator"}

# Kinds tenants work with (plural names in our API group).
AUTHORING_KINDS = ["datasources", "dataproducts", "classificationpolicies"]
GOVERNANCE_KINDS = ["datagrants", "datashares", "exportapprovals", "datareplications"]
READ_ONLY_KINDS = ["pipelineruns"]
READ = ["get", "list", "watch"]
WRITE = ["get", "list", "watch", "create", "update", "patch", "delete"]


def _labels(tenant: str) -> dict[str, str]:
    return {**PART_OF, TENANT_LABEL: tenant}


def build_namespace(names: TenantNames) -> dict[str, Any]:
    """The tenant's namespace, labelled for network policies and Pod Security."""
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": names.namespace,
            "labels": {
                **_labels(names.tenant),
                "pod-security.kubernetes.io/enforce": "baseline",
                "pod-security.kubernetes.io/warn": "restricted",
            },
        },
    }


def build_role_rules(role: str) -> list[dict[str, Any]]:
    """RBAC rules of a tenant role: admin, engineer or analyst.

    No role grants Secrets: credentials live in OpenBao, and the operator holds every permission
    it grants (it has neither `escalate` nor `bind`).
    """
    nidc = [GROUP]
    if role == "analyst":
        return [
            {
                "apiGroups": nidc,
                "resources": AUTHORING_KINDS + GOVERNANCE_KINDS + READ_ONLY_KINDS,
                "verbs": READ,
            },
            {"apiGroups": [""], "resources": ["events"], "verbs": READ},
        ]
    governance_verbs = WRITE if role == "admin" else READ
    return [
        {"apiGroups": nidc, "resources": AUTHORING_KINDS, "verbs": WRITE},
        {"apiGroups": nidc, "resources": GOVERNANCE_KINDS, "verbs": governance_verbs},
        {"apiGroups": nidc, "resources": READ_ONLY_KINDS, "verbs": READ},
        {
            "apiGroups": [""],
            "resources": [
                "pods",
                "pods/log",
                "events",
                "configmaps",
                "services",
                "serviceaccounts",
            ],
            "verbs": READ,
        },
        {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": READ},
        {"apiGroups": ["batch"], "resources": ["jobs"], "verbs": READ},
    ]


ROLES = ("admin", "engineer", "analyst")


def build_roles(names: TenantNames) -> list[dict[str, Any]]:
    """One Role and one RoleBinding (to the role's group) per tenant role."""
    objects: list[dict[str, Any]] = []
    for role in ROLES:
        role_name = f"nidc-tenant-{role}"
        meta = {"name": role_name, "namespace": names.namespace, "labels": _labels(names.tenant)}
        objects.append(
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "Role",
                "metadata": meta,
                "rules": build_role_rules(role),
            }
        )
        objects.append(
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "RoleBinding",
                "metadata": meta,
                "roleRef": {
                    "apiGroup": "rbac.authorization.k8s.io",
                    "kind": "Role",
                    "name": role_name,
                },
                "subjects": [
                    {
                        "apiGroup": "rbac.authorization.k8s.io",
                        "kind": "Group",
                        "name": tenant_group(names.tenant, role),
                    }
                ],
            }
        )
    return objects


def build_tenant_reader(names: TenantNames) -> list[dict[str, Any]]:
    """Lets the tenant's people read their own (cluster-scoped) Tenant object, and no other."""
    name = f"nidc:tenant:{names.tenant}:reader"
    return [
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": name, "labels": _labels(names.tenant)},
            "rules": [
                {
                    "apiGroups": [GROUP],
                    "resources": ["tenants"],
                    "resourceNames": [names.tenant],
                    "verbs": ["get", "watch"],
                }
            ],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": name, "labels": _labels(names.tenant)},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": name,
            },
            "subjects": [
                {
                    "apiGroup": "rbac.authorization.k8s.io",
                    "kind": "Group",
                    "name": tenant_group(names.tenant, role),
                }
                for role in ROLES
            ],
        },
    ]


def build_resource_quota(names: TenantNames, spec: TenantSpec) -> dict[str, Any]:
    """Quotas, GPUs included (`requests.nvidia.com/gpu`)."""
    quotas = spec.quotas
    return {
        "apiVersion": "v1",
        "kind": "ResourceQuota",
        "metadata": {
            "name": "nidc-tenant-quota",
            "namespace": names.namespace,
            "labels": _labels(names.tenant),
        },
        "spec": {
            "hard": {
                "requests.cpu": quotas.cpu,
                "requests.memory": quotas.memory,
                "requests.nvidia.com/gpu": str(quotas.gpus),
                "requests.storage": quotas.storage,
                "pods": str(quotas.pods),
            }
        },
    }


def build_limit_range(names: TenantNames) -> dict[str, Any]:
    """Defaults for containers that set no requests, so the quota can account for them."""
    return {
        "apiVersion": "v1",
        "kind": "LimitRange",
        "metadata": {
            "name": "nidc-tenant-defaults",
            "namespace": names.namespace,
            "labels": _labels(names.tenant),
        },
        "spec": {
            "limits": [
                {
                    "type": "Container",
                    "defaultRequest": {"cpu": "250m", "memory": "512Mi"},
                    "default": {"cpu": "1", "memory": "2Gi"},
                }
            ]
        },
    }


def build_network_policies(names: TenantNames) -> list[dict[str, Any]]:
    """Deny everything by default; allow traffic inside the namespace, DNS and the platform."""
    meta = {"namespace": names.namespace, "labels": _labels(names.tenant)}
    return [
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": "default-deny", **meta},
            "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
        },
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": "allow-namespace-dns-platform", **meta},
            "spec": {
                "podSelector": {},
                "policyTypes": ["Ingress", "Egress"],
                "ingress": [{"from": [{"podSelector": {}}]}],
                "egress": [
                    {"to": [{"podSelector": {}}]},
                    {"to": [{"namespaceSelector": {"matchLabels": {f"{GROUP}/platform": "true"}}}]},
                    {"ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]},
                ],
            },
        },
    ]


def build_children(tenant: str, spec: TenantSpec) -> list[dict[str, Any]]:
    """Every Kubernetes object of a tenant, namespace first (apply order)."""
    names = TenantNames(tenant)
    return [
        build_namespace(names),
        *build_roles(names),
        *build_tenant_reader(names),
        build_resource_quota(names, spec),
        build_limit_range(names),
        *build_network_policies(names),
    ]


def build_openbao_policy(names: TenantNames) -> str:
    """The tenant's OpenBao policy: its own KV prefix, nothing else; the share profiles the
    operator delivers there (shares/) are read-only, so a recipient cannot stretch its token's
    lifetime or plant a token of its choosing (the longer path wins in OpenBao)."""
    prefix = names.openbao_prefix
    return (
        f'path "secret/data/{prefix}/*" {{\n'
        '  capabilities = ["create", "read", "update", "delete", "list"]\n}\n'
        f'path "secret/metadata/{prefix}/*" {{\n'
        '  capabilities = ["read", "list", "delete"]\n}\n'
        f'path "secret/data/{prefix}/shares/*" {{\n'
        '  capabilities = ["read", "list"]\n}\n'
        f'path "secret/metadata/{prefix}/shares/*" {{\n'
        '  capabilities = ["read", "list"]\n}\n'
    )


def build_column_key_policy(names: TenantNames, transit_mount: str = "transit") -> str:
    """The tenant's column-key policy: make data keys with its transit key, unwrap and rewrap
    them, read the key's versions. Rotation stays with the operator (docs/encryption.md)."""
    key = f"{transit_mount}/%s/{names.transit_key}"
    return "".join(
        f'path "{key % action}" {{\n  capabilities = ["update"]\n}}\n'
        for action in ("datakey/plaintext", "decrypt", "rewrap")
    ) + (f'path "{transit_mount}/keys/{names.transit_key}" {{\n  capabilities = ["read"]\n}}\n')


def build_jobs_role(names: TenantNames, service_account: str) -> dict[str, Any]:
    """Kubernetes auth role of the tenant's job service account: the tenant policy and the
    column-key policy (no other service account of the namespace gets the key)."""
    return {
        "bound_service_account_names": [service_account],
        "bound_service_account_namespaces": [names.namespace],
        "token_policies": [names.openbao_policy, names.column_key_policy],
        "token_ttl": "1h",
        "token_max_ttl": "4h",
    }


def build_openbao_role(names: TenantNames) -> dict[str, Any]:
    """Kubernetes auth role: any service account of the tenant's namespace, the tenant policy."""
    return {
        "bound_service_account_names": ["*"],
        "bound_service_account_namespaces": [names.namespace],
        "token_policies": [names.openbao_policy],
        "token_ttl": "1h",
        "token_max_ttl": "4h",
    }


def build_s3_policy(names: TenantNames) -> dict[str, Any]:
    """The tenant's S3 policy: its own bucket, nothing else."""
    bucket = f"arn:aws:s3:::{names.bucket}"
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["s3:ListBucket", "s3:GetBucketLocation"],
                "Resource": [bucket],
            },
            {
                "Effect": "Allow",
                "Action": [
                    "s3:GetObject",
                    "s3:PutObject",
                    "s3:DeleteObject",
                    "s3:AbortMultipartUpload",
                    "s3:ListMultipartUploadParts",
                ],
                "Resource": [f"{bucket}/*"],
            },
        ],
    }
