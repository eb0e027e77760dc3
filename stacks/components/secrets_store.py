"""SecretsStore: OpenBao on raft storage, its unseal configuration and Kubernetes auth."""

from __future__ import annotations

import hashlib
import shlex
from dataclasses import dataclass, field
from typing import Any

import pulumi

from stacks.manifests import (
    TLS_VOLUME,
    Resources,
    Tls,
    build_namespace,
    build_service,
    build_tls_secret,
    create_objects,
    labels,
    require,
    require_name,
    require_quantity,
)

ROLES_SCRIPT = "provision.sh"
API_PORT = 8200
CLUSTER_PORT = 8201
TLS_DIR = "/openbao/tls"


@dataclass(frozen=True)
class Unseal:
    """How a restarted server unseals: `shamir` (operators enter key shares) or `transit`
    (another OpenBao's transit engine holds the key; its token comes from a Secret)."""

    mode: str = "shamir"
    transit_address: str = ""
    transit_key: str = "nidc-unseal"
    transit_mount: str = "transit/"
    token_secret: str = "openbao-unseal-token"  # noqa: S105 (a Secret name, not a value)

    def __post_init__(self) -> None:
        require(
            self.mode in ("shamir", "transit"),
            "secretsStore.unseal.mode",
            f"{self.mode!r}: use shamir or transit",
        )
        if self.mode == "transit":
            require(
                self.transit_address.startswith("https://"),
                "secretsStore.unseal.transitAddress",
                "an https:// URL is required",
            )


@dataclass(frozen=True)
class ServiceRole:
    """A platform service's OpenBao access (policies/identities): a policy, and the Kubernetes
    auth role its service account logs in as."""

    name: str
    policy: str
    service_account: str
    namespace: str
    token_ttl: str = "1h"  # noqa: S105 (a duration)

    def __post_init__(self) -> None:
        for key in ("name", "service_account", "namespace"):
            require_name(getattr(self, key), f"secretsStore.roles.{self.name}.{key}")
        require(self.policy.strip() != "", f"secretsStore.roles.{self.name}.policy", "required")


@dataclass(frozen=True)
class SecretsStoreArgs:
    """Typed arguments of the SecretsStore component."""

    center: str
    image: str
    tls: Tls
    namespace: str = "nidc-secrets"
    replicas: int = 3
    volume_size: str = "10Gi"
    storage_class: str | None = None
    unseal: Unseal = field(default_factory=Unseal)
    # The services' policies and roles the `roles` sidecar writes once OpenBao is initialized
    # and unsealed, with the operator token (`openbaoOperatorToken`, '' until it is set).
    roles: tuple[ServiceRole, ...] = field(default_factory=tuple)
    operator_token: pulumi.Input[str] = ""
    resources: Resources = field(default_factory=Resources)

    def __post_init__(self) -> None:
        require_name(self.namespace, "secretsStore.namespace")
        # Raft needs a majority: an even count adds no fault tolerance.
        require(
            self.replicas in (1, 3, 5),
            "secretsStore.replicas",
            f"{self.replicas}: use 1, 3 or 5 (raft quorum)",
        )
        require_quantity(self.volume_size, "secretsStore.volumeSize")


def build_server_config(args: SecretsStoreArgs) -> str:
    """The server's HCL: TLS listener, raft storage joined to every peer, the seal."""
    scheme = "https" if args.tls.enabled else "http"
    peers = "\n".join(
        f'  retry_join {{\n    leader_api_addr = "{scheme}://openbao-{i}.openbao-hl.'
        f'{args.namespace}.svc:{API_PORT}"\n'
        + (f'    leader_ca_cert_file = "{TLS_DIR}/ca.crt"\n' if args.tls.enabled else "")
        + "  }"
        for i in range(args.replicas)
    )
    if args.tls.enabled:
        listener = (
            f'  tls_cert_file = "{TLS_DIR}/tls.crt"\n  tls_key_file = "{TLS_DIR}/tls.key"\n'
            '  tls_min_version = "tls12"'
        )
    else:
        listener = "  tls_disable = true"
    seal = ""
    if args.unseal.mode == "transit":
        # The token is read from VAULT_TOKEN (a Secret), never written into this file.
        seal = (
            f'seal "transit" {{\n  address = "{args.unseal.transit_address}"\n'
            f'  key_name = "{args.unseal.transit_key}"\n'
            f'  mount_path = "{args.unseal.transit_mount}"\n}}\n'
        )
    return (
        "ui = false\ndisable_mlock = true\n"
        f'listener "tcp" {{\n  address = "[::]:{API_PORT}"\n'
        f'  cluster_address = "[::]:{CLUSTER_PORT}"\n{listener}\n}}\n'
        f'storage "raft" {{\n  path = "/openbao/data"\n{peers}\n}}\n'
        f"{seal}"
    )


def build_kubernetes_auth(args: SecretsStoreArgs) -> list[dict[str, Any]]:
    """Kubernetes auth: OpenBao's service account may review tokens (TokenReview), which is
    what `auth/kubernetes` needs to log a pod in by its service account."""
    return [
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": "openbao", "namespace": args.namespace},
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": f"nidc-openbao-auth-delegator-{args.namespace}"},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": "system:auth-delegator",
            },
            "subjects": [
                {"kind": "ServiceAccount", "name": "openbao", "namespace": args.namespace}
            ],
        },
        {
            # Read by the post-initialization runbook (docs/stacks.md) and by the operators.
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": "openbao-kubernetes-auth",
                "namespace": args.namespace,
                "labels": labels("secrets-store", "openbao", args.center),
            },
            "data": {
                "mount": "kubernetes",
                "kubernetes_host": "https://kubernetes.default.svc",
                "token_reviewer": f"system:serviceaccount:{args.namespace}:openbao",
            },
        },
    ]


def build_roles_script(args: SecretsStoreArgs) -> str:
    """The `roles` sidecar's script (pure): waits for an initialized, unsealed server and the
    operator token (both come after the first `up`, docs/stacks.md), then writes each policy
    and, where Kubernetes auth is enabled, each role; idempotent (a write replaces). The token
    goes from its file into BAO_TOKEN, never onto a command line or into a trace."""
    lines = [
        "set -eu",
        "until [ -s /provisioner/token ] && bao status >/dev/null 2>&1; do sleep 10; done",
        'BAO_TOKEN="$(cat /provisioner/token)"; export BAO_TOKEN',
    ]
    for r in args.roles:
        lines.append(f"bao policy write {shlex.quote(r.name)} /roles/{r.name}.hcl >/dev/null")
        lines.append(f"echo 'policy {r.name} written'")
    lines.append("if bao read auth/kubernetes/config >/dev/null 2>&1; then")
    for r in args.roles:
        lines.append(
            f"  bao write auth/kubernetes/role/{shlex.quote(r.name)}"
            f" bound_service_account_names={shlex.quote(r.service_account)}"
            f" bound_service_account_namespaces={shlex.quote(r.namespace)}"
            f" token_policies={shlex.quote(r.name)} token_ttl={shlex.quote(r.token_ttl)}"
            " >/dev/null"
        )
        lines.append(f"  echo 'role {r.name} written'")
    lines += ["else", "  echo 'auth/kubernetes is not enabled yet: roles wait for a restart'", "fi"]
    lines.append("exec sleep infinity")
    return "\n".join(lines) + "\n"


def build_roles_config(args: SecretsStoreArgs) -> list[dict[str, Any]]:
    """ConfigMap `openbao-roles` (each policy's HCL and the sidecar's script) and the Secret
    `openbao-provisioner` holding the operator token the sidecar writes them with."""
    meta = {"namespace": args.namespace, "labels": labels("secrets-store", "openbao", args.center)}
    data = {
        ROLES_SCRIPT: build_roles_script(args),
        **{f"{r.name}.hcl": r.policy for r in args.roles},
    }
    return [
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "openbao-roles", **meta},
            "data": data,
        },
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "openbao-provisioner", **meta},
            "type": "Opaque",
            # Empty until `openbaoOperatorToken` is set: the sidecar waits for it.
            "stringData": {"token": args.operator_token},
        },
    ]


def build_roles_sidecar(
    args: SecretsStoreArgs, env: list[dict[str, Any]], mounts: list[dict[str, Any]]
) -> dict[str, Any]:
    """The container that writes the services' policies and roles (the bao CLI of the same
    image, talking to its own pod's server)."""
    return {
        "name": "roles",
        "image": args.image,
        "command": ["sh", f"/roles/{ROLES_SCRIPT}"],
        "env": [e for e in env if e["name"] in ("BAO_ADDR", "BAO_CACERT")],
        "resources": Resources("10m", "32Mi", "200m", "128Mi").manifest(),
        "volumeMounts": [
            *(m for m in mounts if m["name"] == TLS_VOLUME),
            {"name": "roles", "mountPath": "/roles", "readOnly": True},
            {"name": "provisioner", "mountPath": "/provisioner", "readOnly": True},
        ],
    }


def build_statefulset(args: SecretsStoreArgs) -> dict[str, Any]:
    """The OpenBao servers: one raft member per pod, each with its own volume, and the `roles`
    sidecar."""
    roles_text = build_roles_script(args) + "".join(r.policy for r in args.roles)
    roles_hash = hashlib.sha256(roles_text.encode()).hexdigest()[:16]
    selector = {"app.kubernetes.io/name": "openbao", "app.kubernetes.io/instance": args.center}
    env: list[dict[str, Any]] = [
        {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        {
            "name": "BAO_ADDR",
            "value": f"{'https' if args.tls.enabled else 'http'}://127.0.0.1:{API_PORT}",
        },
    ]
    # api_addr and cluster_addr name the pod itself: Kubernetes expands $(POD_NAME) in env
    # values, which it would not do inside the config file.
    scheme = "https" if args.tls.enabled else "http"
    env += [
        {
            "name": "BAO_API_ADDR",
            "value": f"{scheme}://$(POD_NAME).openbao-hl.{args.namespace}.svc:{API_PORT}",
        },
        {
            "name": "BAO_CLUSTER_ADDR",
            "value": f"https://$(POD_NAME).openbao-hl.{args.namespace}.svc:{CLUSTER_PORT}",
        },
    ]
    if args.unseal.mode == "transit":
        env.append(
            {
                "name": "VAULT_TOKEN",
                "valueFrom": {"secretKeyRef": {"name": args.unseal.token_secret, "key": "token"}},
            }
        )
    mounts: list[dict[str, Any]] = [
        {"name": "data", "mountPath": "/openbao/data"},
        {"name": "config", "mountPath": "/openbao/config"},
    ]
    volumes: list[dict[str, Any]] = [{"name": "config", "configMap": {"name": "openbao-config"}}]
    if args.tls.enabled:
        mounts.append({"name": TLS_VOLUME, "mountPath": TLS_DIR, "readOnly": True})
        volumes.append({"name": TLS_VOLUME, "secret": {"secretName": "openbao-tls"}})
        env.append({"name": "BAO_CACERT", "value": f"{TLS_DIR}/ca.crt"})
    claim: dict[str, Any] = {
        "metadata": {"name": "data"},
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": args.volume_size}},
        },
    }
    if args.storage_class:
        claim["spec"]["storageClassName"] = args.storage_class
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {
            "name": "openbao",
            "namespace": args.namespace,
            "labels": labels("secrets-store", "openbao", args.center),
        },
        "spec": {
            "serviceName": "openbao-hl",
            "replicas": args.replicas,
            "podManagementPolicy": "Parallel",
            "selector": {"matchLabels": selector},
            "template": {
                "metadata": {
                    "labels": {**selector, **labels("secrets-store", "openbao", args.center)},
                    # A changed role set reruns the sidecar (it writes once, then sleeps).
                    "annotations": {"nidc.io/roles-hash": roles_hash},
                },
                "spec": {
                    "serviceAccountName": "openbao",
                    "securityContext": {"runAsUser": 100, "runAsGroup": 1000, "fsGroup": 1000},
                    "containers": [
                        {
                            "name": "openbao",
                            "image": args.image,
                            "args": ["server", "-config=/openbao/config/server.hcl"],
                            "env": env,
                            "ports": [
                                {"name": "api", "containerPort": API_PORT},
                                {"name": "cluster", "containerPort": CLUSTER_PORT},
                            ],
                            "resources": args.resources.manifest(),
                            "volumeMounts": mounts,
                            # Sealed or standby servers still count as serving (429/473).
                            "readinessProbe": {
                                "httpGet": {
                                    "path": "/v1/sys/health?standbyok=true&sealedcode=204"
                                    "&uninitcode=204",
                                    "port": API_PORT,
                                    "scheme": "HTTPS" if args.tls.enabled else "HTTP",
                                }
                            },
                        },
                        build_roles_sidecar(args, env, mounts),
                    ],
                    "volumes": [
                        *volumes,
                        {"name": "roles", "configMap": {"name": "openbao-roles"}},
                        {
                            "name": "provisioner",
                            "secret": {"secretName": "openbao-provisioner", "defaultMode": 0o440},
                        },
                    ],
                },
            },
            "volumeClaimTemplates": [claim],
        },
    }


def build_secrets_store(args: SecretsStoreArgs) -> list[dict[str, Any]]:
    """Every object of the secrets store, namespace first."""
    selector = {"app.kubernetes.io/name": "openbao", "app.kubernetes.io/instance": args.center}
    objects = [
        build_namespace(args.namespace, args.center),
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": "openbao-config",
                "namespace": args.namespace,
                "labels": labels("secrets-store", "openbao", args.center),
            },
            "data": {"server.hcl": build_server_config(args)},
        },
        *build_kubernetes_auth(args),
        *build_roles_config(args),
        build_service(
            "openbao-hl",
            args.namespace,
            selector,
            {"api": API_PORT, "cluster": CLUSTER_PORT},
            headless=True,
        ),
        build_service("openbao", args.namespace, selector, {"api": API_PORT}),
        build_statefulset(args),
    ]
    if args.tls.enabled:
        objects.insert(1, build_tls_secret("openbao-tls", args.namespace, args.tls))
    return objects


class SecretsStore(pulumi.ComponentResource):
    """OpenBao for one center; `endpoint` is its in-cluster API URL."""

    endpoint: pulumi.Output[str]

    def __init__(
        self, name: str, args: SecretsStoreArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("nidc:secrets:SecretsStore", name, None, opts)
        self.children = create_objects(name, build_secrets_store(args), self)
        scheme = "https" if args.tls.enabled else "http"
        self.endpoint = pulumi.Output.from_input(
            f"{scheme}://openbao.{args.namespace}.svc.cluster.local:{API_PORT}"
        )
        self.register_outputs({"endpoint": self.endpoint})
