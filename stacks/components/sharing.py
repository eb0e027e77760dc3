"""Sharing: the Delta Sharing server of a center, and the replication rules other code reads.

The server's configuration holds its bearer token, so it is a Secret, never a ConfigMap. The
`replication` section of the stack config (peers, schedule, checksums), with this center's name
and region added, is published as JSON in the ConfigMap `nidc-replication`, where the operator's
DataReplication reconciler reads which centers it copies to and how (docs/replication.md). It is
checked here with the same parser the operator uses, so a stack cannot publish what the operator
would refuse.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
import yaml

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
    bearer_token: pulumi.Input[str]
    tls: Tls
    s3_endpoint: pulumi.Input[str]
    namespace: str = "nidc-sharing"
    replicas: int = 2
    replication: Mapping[str, Any] = field(default_factory=dict)
    resources: Resources = field(default_factory=Resources)

    def __post_init__(self) -> None:
        require_name(self.namespace, "sharing.namespace")
        require(1 <= self.replicas <= 10, "sharing.replicas", "must be 1..10")
        require(self.bearer_token != "", "sharingToken", "required (a secret)")
        try:
            parse_config(replication_document(self))
        except ReplicationConfigError as error:
            raise ArgsError(str(error)) from error


def replication_document(args: SharingArgs) -> dict[str, Any]:
    """replication.json: the stack's section plus this center's name and region."""
    return {**dict(args.replication), "center": args.center, "region": args.region}


def build_server_config(args: SharingArgs) -> dict[str, Any]:
    """The reference server's YAML (shares are added by DataShare reconciles, not here)."""
    config: dict[str, Any] = {
        "version": 1,
        "shares": [],
        "host": "0.0.0.0",  # noqa: S104 (inside its pod; the Service and policies gate it)
        "port": PORT,
        "endpoint": "/delta-sharing",
        "preSignedUrlTimeoutSeconds": 900,
        "evaluatePredicateHints": True,
        "authorization": {"bearerToken": "__TOKEN__"},
    }
    if args.tls.enabled:
        config["ssl"] = {
            "selfSigned": False,
            "certificateFile": f"{TLS_DIR}/tls.crt",
            "certificateKeyFile": f"{TLS_DIR}/tls.key",
        }
    return config


def build_sharing(args: SharingArgs) -> list[dict[str, Any]]:
    """Namespace, TLS, the server's config Secret, Deployment, Service, replication rules."""
    ns = args.namespace
    selector = {
        "app.kubernetes.io/name": "delta-sharing",
        "app.kubernetes.io/instance": args.center,
    }
    text = yaml.safe_dump(build_server_config(args), sort_keys=True)
    # The token is an input (a secret); it is spliced in as one, never printed.
    server_yaml: pulumi.Input[str] = (
        text.replace("__TOKEN__", args.bearer_token)
        if isinstance(args.bearer_token, str)
        else pulumi.Output.from_input(args.bearer_token).apply(  # type: ignore[arg-type]
            lambda token: text.replace("__TOKEN__", token)
        )
    )
    mounts = [{"name": "config", "mountPath": "/config", "readOnly": True}]
    volumes: list[dict[str, Any]] = [
        {"name": "config", "secret": {"secretName": "delta-sharing-config"}}
    ]
    if args.tls.enabled:
        mounts.append({"name": TLS_VOLUME, "mountPath": TLS_DIR, "readOnly": True})
        volumes.append({"name": TLS_VOLUME, "secret": {"secretName": "sharing-tls"}})
    objects = [
        build_namespace(ns, args.center),
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "delta-sharing-config", "namespace": ns},
            "type": "Opaque",
            "stringData": {"server.yaml": server_yaml},
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
                        "containers": [
                            {
                                "name": "server",
                                "image": args.image,
                                "args": ["--config", "/config/server.yaml"],
                                "env": [{"name": "AWS_ENDPOINT_URL", "value": args.s3_endpoint}],
                                "ports": [{"name": "https", "containerPort": PORT}],
                                "resources": args.resources.manifest(),
                                "volumeMounts": mounts,
                            }
                        ],
                        "volumes": volumes,
                    },
                },
            },
        },
        build_service("delta-sharing", ns, selector, {"https": PORT}),
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


class Sharing(pulumi.ComponentResource):
    """Delta Sharing for one center; `endpoint` is the recipients' URL (in-cluster)."""

    endpoint: pulumi.Output[str]

    def __init__(
        self, name: str, args: SharingArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("nidc:sharing:Sharing", name, None, opts)
        self.children = create_objects(name, build_sharing(args), self)
        scheme = "https" if args.tls.enabled else "http"
        self.endpoint = pulumi.Output.from_input(
            f"{scheme}://delta-sharing.{args.namespace}.svc.cluster.local:{PORT}/delta-sharing"
        )
        self.register_outputs({"endpoint": self.endpoint})
