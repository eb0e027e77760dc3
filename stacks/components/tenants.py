"""Tenants: one Tenant custom resource per tenant of the stack config, and an admin kubeconfig
for each (a service account bound to the tenant's admin Role, which the operator creates).

The stack does not wait for the operator: a Tenant is created and left to be reconciled, so
`pulumi up` never waits on a status the cluster (or a stopped operator) cannot give.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import yaml
from pydantic import ValidationError

from nidc.api.schema import API_VERSION
from nidc.api.tenant import TenantSpec
from stacks.manifests import (
    PART_OF,
    ArgsError,
    create_objects,
    require,
    require_name,
    resource_name,
)

ADMIN_ACCOUNT = "tenant-admin"
ADMIN_ROLE = "nidc-tenant-admin"  # made by the Tenant reconciler in the tenant's namespace


@dataclass(frozen=True)
class TenantConfig:
    """One tenant: its name and its spec exactly as the Tenant API takes it (camelCase)."""

    name: str
    spec: Mapping[str, Any]

    def __post_init__(self) -> None:
        require_name(self.name, f"tenants.{self.name}.name")
        try:
            TenantSpec.model_validate(dict(self.spec))
        except ValidationError as error:
            problems = "; ".join(
                f"tenants.{self.name}.spec.{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
                for e in error.errors()
            )
            raise ArgsError(problems) from error


@dataclass(frozen=True)
class TenantsArgs:
    """Typed arguments of the Tenants component."""

    tenants: tuple[TenantConfig, ...]
    api_server: str
    ca_data: str  # base64 PEM of the API server's CA

    def __post_init__(self) -> None:
        names = [t.name for t in self.tenants]
        require(len(names) == len(set(names)), "tenants", "duplicate tenant names")
        require(
            self.api_server.startswith("https://"),
            "kubernetes.server",
            "an https:// URL is required",
        )


def build_tenant(tenant: TenantConfig) -> list[dict[str, Any]]:
    """The Tenant CR, the tenant's namespace and its admin service account with a token."""
    ns = tenant.name
    meta_labels = {**PART_OF, "nidc.io/tenant": tenant.name}
    return [
        {
            "apiVersion": API_VERSION,
            "kind": "Tenant",
            "metadata": {"name": tenant.name, "labels": dict(PART_OF)},
            "spec": dict(tenant.spec),
        },
        # The operator adopts this namespace (server-side apply, its own field manager).
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns, "labels": meta_labels}},
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": ADMIN_ACCOUNT, "namespace": ns, "labels": meta_labels},
        },
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {
                "name": f"{ADMIN_ACCOUNT}-token",
                "namespace": ns,
                "labels": meta_labels,
                "annotations": {
                    "kubernetes.io/service-account.name": ADMIN_ACCOUNT,
                    # The token controller fills the token in; the kubeconfig output needs it.
                    "pulumi.com/waitFor": "jsonpath={.data.token}",
                },
            },
            "type": "kubernetes.io/service-account-token",
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": {"name": f"{ADMIN_ACCOUNT}-stack", "namespace": ns, "labels": meta_labels},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "Role",
                "name": ADMIN_ROLE,
            },
            "subjects": [{"kind": "ServiceAccount", "name": ADMIN_ACCOUNT, "namespace": ns}],
        },
    ]


def build_kubeconfig(tenant: str, server: str, ca_data: str, token: str) -> str:
    """A kubeconfig for the tenant's admin account, its namespace as the default (pure)."""
    return yaml.safe_dump(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": "nidc",
                    "cluster": {"server": server, "certificate-authority-data": ca_data},
                }
            ],
            "users": [{"name": f"{tenant}-admin", "user": {"token": token}}],
            "contexts": [
                {
                    "name": f"{tenant}-admin",
                    "context": {"cluster": "nidc", "user": f"{tenant}-admin", "namespace": tenant},
                }
            ],
            "current-context": f"{tenant}-admin",
        },
        sort_keys=False,
    )


class Tenants(pulumi.ComponentResource):
    """Every tenant of a center; `kubeconfigs` maps tenant name to a (secret) kubeconfig.
    `crds` are the CRD resources the Tenant objects need when the same program makes them."""

    kubeconfigs: pulumi.Output[dict[str, str]]

    def __init__(
        self,
        name: str,
        args: TenantsArgs,
        crds: Sequence[pulumi.Resource] = (),
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("nidc:tenants:Tenants", name, None, opts)
        self.children: dict[str, pulumi.CustomResource] = {}
        kubeconfigs: dict[str, pulumi.Output[str]] = {}
        for tenant in args.tenants:
            prefix = f"{name}-{tenant.name}"
            objects = build_tenant(tenant)
            others = [m for m in objects if m["kind"] != "Tenant"]
            created = create_objects(prefix, others, self)
            namespace = next(
                created[resource_name(prefix, m)] for m in others if m["kind"] == "Namespace"
            )
            # The Tenant object after its namespace too: the operator makes the namespace of a
            # Tenant it sees, and the stack's own create would then find it taken.
            created |= create_objects(
                prefix,
                [m for m in objects if m["kind"] == "Tenant"],
                self,
                before_custom=[*crds, namespace],
            )
            self.children.update(created)
            secret = next(r for key, r in created.items() if key.endswith("-token"))
            token = secret.data.apply(  # type: ignore[attr-defined]
                lambda data: base64.b64decode((data or {}).get("token", "")).decode()
            )
            kubeconfigs[tenant.name] = pulumi.Output.secret(
                token.apply(
                    lambda t, n=tenant.name: build_kubeconfig(n, args.api_server, args.ca_data, t)
                )
            )
        self.kubeconfigs = pulumi.Output.all(**kubeconfigs)
        self.register_outputs({"kubeconfigs": self.kubeconfigs})
