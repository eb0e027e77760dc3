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
from cryptography import x509
from cryptography.x509.oid import NameOID
from pydantic import ValidationError

from nidc.api.schema import API_VERSION
from nidc.api.tenant import TenantSpec
from nidc.local.identities import LINEAGE_WRITERS_GROUP
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
# The lineage writers' client certificate in every tenant namespace, mounted by driver Jobs
# (operators/runs/kubernetes_build.py); the operator's NIDC_LINEAGE_SECRET names it.
LINEAGE_SECRET = "nidc-lineage-writer"  # noqa: S105 (a Secret's name)


@dataclass(frozen=True)
class LineageWriter:
    """The client certificate jobs post OpenLineage events with: issued by the CA the catalog API
    trusts (`tlsCaCertificate`), group (O) `nidc:lineage-writers` (decisions/0260)."""

    certificate: str
    private_key: pulumi.Input[str]
    ca_certificate: str

    def __post_init__(self) -> None:
        require(self.private_key != "", "lineageWriterPrivateKey", "required (a secret)")
        try:
            cert = x509.load_pem_x509_certificate(self.certificate.encode())
        except ValueError as error:
            raise ArgsError(f"lineageWriterCertificate: not a PEM certificate ({error})") from None
        groups = [
            str(a.value) for a in cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
        ]
        require(
            LINEAGE_WRITERS_GROUP in groups,
            "lineageWriterCertificate",
            f"its subject's O is {groups}; the lineage receiver takes {LINEAGE_WRITERS_GROUP!r}",
        )


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
    lineage_writer: LineageWriter | None = None

    def __post_init__(self) -> None:
        names = [t.name for t in self.tenants]
        require(len(names) == len(set(names)), "tenants", "duplicate tenant names")
        require(
            self.api_server.startswith("https://"),
            "kubernetes.server",
            "an https:// URL is required",
        )


def build_lineage_secret(namespace: str, writer: LineageWriter) -> dict[str, Any]:
    """The lineage writers' certificate, key and CA in one tenant namespace."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": LINEAGE_SECRET,
            "namespace": namespace,
            "labels": {**PART_OF, "nidc.io/tenant": namespace},
        },
        "type": "Opaque",
        "stringData": {
            "tls.crt": writer.certificate,
            "tls.key": writer.private_key,
            "ca.crt": writer.ca_certificate,
        },
    }


def build_tenant(
    tenant: TenantConfig, lineage_writer: LineageWriter | None = None
) -> list[dict[str, Any]]:
    """The Tenant CR, the tenant's namespace, its admin service account with a token, and the
    lineage writers' certificate its jobs mount (when the center has a lineage receiver)."""
    ns = tenant.name
    meta_labels = {**PART_OF, "nidc.io/tenant": tenant.name}
    lineage = [build_lineage_secret(ns, lineage_writer)] if lineage_writer else []
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
        *lineage,
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
            objects = build_tenant(tenant, args.lineage_writer)
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
            secret = next(r for key, r in created.items() if key.endswith(f"{ADMIN_ACCOUNT}-token"))
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
