"""Sharing: our Delta Sharing server (nidc/sharing) for a center, and the replication rules
other code reads.

The server runs from the nidc image (`python -m nidc.sharing`) as the `nidc-sharing-server`
service account, whose ClusterRole reads DataShares and nothing else; it logs in to OpenBao with
that account (Kubernetes auth, role `nidc-sharing-server`, a policy reading only the token
records) and signs URLs with an S3 login that reads tenant buckets only; that login's secret key
is a stack secret (`sharingS3SecretKey`), kept in a Secret, never in a ConfigMap. Recipients'
tokens are never here: the DataShare reconciler writes their hashed records to OpenBao.

The `replication` section of the stack config (peers, schedule, checksums), with this center's
name and region added, is published as JSON in the ConfigMap `nidc-replication`, where the
operator's DataReplication reconciler reads which centers it copies to and how
(docs/replication.md). It is checked here with the same parser the operator uses, so a stack
cannot publish what the operator would refuse.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi

from nidc.governance.replication import ReplicationConfigError, parse_config
from stacks.manifests import (
    REGION_LABEL,
    TLS_VOLUME,
    ArgsError,
    Resources,
    Tls,
    build_namespace,
    build_service,
    build_tls_secret,
    create_objects,
    labels,
    require,
    require_name,
)

PORT = 8443
TLS_DIR = "/etc/nidc/tls"


@dataclass(frozen=True)
class SharingArgs:
    """Typed arguments of the Sharing component."""

    center: str
    region: str
    image: str
    s3_secret_key: pulumi.Input[str]
    tls: Tls
    s3_endpoint: pulumi.Input[str]
    openbao_url: pulumi.Input[str] = ""
    # The S3 endpoint recipients reach (URLs are signed for its host); the in-cluster one if "".
    s3_public_endpoint: pulumi.Input[str] = ""
    s3_access_key: str = "nidc-sharing-server"
    url_seconds: int = 900
    namespace: str = "nidc-sharing"
    replicas: int = 2
    replication: Mapping[str, Any] = field(default_factory=dict)
    resources: Resources = field(default_factory=Resources)

    def __post_init__(self) -> None:
        require_name(self.namespace, "sharing.namespace")
        require(1 <= self.replicas <= 10, "sharing.replicas", "must be 1..10")
        require(self.s3_secret_key != "", "sharingS3SecretKey", "required (a secret)")
        require(60 <= self.url_seconds <= 3600, "sharing.urlSeconds", "must be 60..3600")
        try:
            parse_config(replication_document(self))
        except ReplicationConfigError as error:
            raise ArgsError(str(error)) from error


def replication_document(args: SharingArgs) -> dict[str, Any]:
    """replication.json: the stack's section plus this center's name and region."""
    return {**dict(args.replication), "center": args.center, "region": args.region}


SERVER = "nidc-sharing-server"
PREFIX = "/delta-sharing"


def build_server_access(args: SharingArgs) -> list[dict[str, Any]]:
    """The server's service account and its only Kubernetes right: reading DataShares."""
    return [
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": SERVER, "namespace": args.namespace},
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": f"nidc:{SERVER}"},
            "rules": [
                {
                    "apiGroups": ["nidc.io"],
                    "resources": ["datashares"],
                    "verbs": ["get", "list", "watch"],
                }
            ],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": f"nidc:{SERVER}"},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": f"nidc:{SERVER}",
            },
            "subjects": [{"kind": "ServiceAccount", "name": SERVER, "namespace": args.namespace}],
        },
    ]


def build_server_environment(args: SharingArgs) -> list[dict[str, Any]]:
    """The server's settings (nidc/sharing/server.py); secrets only as mounted files."""
    env: list[dict[str, Any]] = [
        {"name": "NIDC_SHARING_HOST", "value": "0.0.0.0"},  # noqa: S104 (its pod's address)
        {"name": "NIDC_SHARING_PORT", "value": str(PORT)},
        {"name": "NIDC_SHARING_PREFIX", "value": PREFIX},
        {"name": "NIDC_SHARING_URL_SECONDS", "value": str(args.url_seconds)},
        {"name": "NIDC_OPENBAO_URL", "value": args.openbao_url},
        {"name": "NIDC_OPENBAO_ROLE", "value": SERVER},
        {"name": "NIDC_S3_ENDPOINT", "value": args.s3_public_endpoint or args.s3_endpoint},
        {"name": "NIDC_S3_ACCESS_KEY", "value": args.s3_access_key},
        {"name": "NIDC_S3_SECRET_KEY_FILE", "value": "/etc/nidc/s3/secretKey"},
    ]
    if args.tls.enabled:
        env += [
            {"name": "NIDC_SHARING_TLS_CERT", "value": f"{TLS_DIR}/tls.crt"},
            {"name": "NIDC_SHARING_TLS_KEY", "value": f"{TLS_DIR}/tls.key"},
            {"name": "NIDC_CA_FILE", "value": f"{TLS_DIR}/ca.crt"},
        ]
    return env


def build_sharing(args: SharingArgs) -> list[dict[str, Any]]:
    """Namespace, TLS, RBAC, the S3 login's Secret, Deployment, Service, replication rules."""
    ns = args.namespace
    selector = {
        "app.kubernetes.io/name": "delta-sharing",
        "app.kubernetes.io/instance": args.center,
    }
    mounts = [{"name": "s3", "mountPath": "/etc/nidc/s3", "readOnly": True}]
    volumes: list[dict[str, Any]] = [{"name": "s3", "secret": {"secretName": "sharing-s3"}}]
    if args.tls.enabled:
        mounts.append({"name": TLS_VOLUME, "mountPath": TLS_DIR, "readOnly": True})
        volumes.append({"name": TLS_VOLUME, "secret": {"secretName": "sharing-tls"}})
    scheme = "HTTPS" if args.tls.enabled else "HTTP"
    objects = [
        build_namespace(ns, args.center),
        *build_server_access(args),
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "sharing-s3", "namespace": ns},
            "type": "Opaque",
            "stringData": {"secretKey": args.s3_secret_key},
        },
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {
                "name": "delta-sharing",
                "namespace": ns,
                "labels": labels("sharing", "delta-sharing", args.center),
            },
            "spec": {
                "replicas": args.replicas,
                "selector": {"matchLabels": selector},
                "template": {
                    "metadata": {
                        "labels": {**selector, **labels("sharing", "delta-sharing", args.center)}
                    },
                    "spec": {
                        "serviceAccountName": SERVER,
                        "containers": [
                            {
                                "name": "server",
                                "image": args.image,
                                "command": ["python", "-m", "nidc.sharing"],
                                "env": build_server_environment(args),
                                "ports": [{"name": "https", "containerPort": PORT}],
                                "readinessProbe": {
                                    # Answers 401 without a token: a 4xx fails an httpGet probe,
                                    # so readiness is the port accepting connections.
                                    "tcpSocket": {"port": PORT},
                                },
                                "resources": args.resources.manifest(),
                                "securityContext": {
                                    "runAsNonRoot": True,
                                    "allowPrivilegeEscalation": False,
                                    "readOnlyRootFilesystem": True,
                                },
                                "volumeMounts": mounts,
                            }
                        ],
                        "volumes": volumes,
                    },
                },
            },
        },
        build_service("delta-sharing", ns, selector, {scheme.lower(): PORT}),
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": "nidc-replication",
                "namespace": ns,
                "labels": {
                    **labels("sharing", "replication", args.center),
                    REGION_LABEL: args.region,
                    "nidc.io/config": "replication",
                },
            },
            "data": {
                "replication.json": json.dumps(replication_document(args), indent=2, sort_keys=True)
            },
        },
    ]
    if args.tls.enabled:
        objects.insert(1, build_tls_secret("sharing-tls", ns, args.tls))
    return objects


def endpoint(tls: bool = True, namespace: str = "nidc-sharing") -> str:
    """The server's in-cluster URL (recipients elsewhere need `sharing.publicEndpoint`)."""
    scheme = "https" if tls else "http"
    return f"{scheme}://delta-sharing.{namespace}.svc.cluster.local:{PORT}{PREFIX}"


class Sharing(pulumi.ComponentResource):
    """Delta Sharing for one center; `endpoint` is the recipients' URL (in-cluster)."""

    endpoint: pulumi.Output[str]

    def __init__(
        self, name: str, args: SharingArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("nidc:sharing:Sharing", name, None, opts)
        self.children = create_objects(name, build_sharing(args), self)
        self.endpoint = pulumi.Output.from_input(endpoint(args.tls.enabled, args.namespace))
        self.register_outputs({"endpoint": self.endpoint})
