"""Collectors on a cluster: one Deployment per device source (replicas 1, Recreate).

The configuration (no secrets) is a ConfigMap; the S3 and device credentials are rendered by the
OpenBao agent injector from the tenant's KV paths into an env file the entrypoint sources, so no
value ever appears in an object. Create-or-adopt by name; a changed configuration rolls the pod
through the ConfigMap's hash. Recreate, not RollingUpdate: two collectors of one source would
write the same batch sequence.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from nidc.api.addressing import TenantNames
from nidc.api.data_source import DataSource
from nidc.kube import ApiClient, apply, delete, get

COMPONENT = "collector"
CONFIG_DIR = "/etc/nidc/collector"
SECRETS_DIR = "/openbao/secrets"
HEARTBEAT = "/tmp/heartbeat"
FIELD_MANAGER = "nidc-operator"


@dataclass(frozen=True)
class CollectorImage:
    """The collector image and the OpenBao agent settings of the cluster."""

    image: str
    service_account: str = "nidc-collector"
    openbao_annotation_prefix: str = "openbao.openbao.org"
    openbao_kv_mount: str = "secret"


def build_collector_objects(
    source: DataSource, name: str, config: dict[str, Any], image: CollectorImage
) -> list[dict[str, Any]]:
    """ServiceAccount, ConfigMap and Deployment of a source's collector (pure).

    The ConfigMap and Deployment are owned by the source; the ServiceAccount is the namespace's
    collectors' identity (the tenant's OpenBao role binds it), shared, so owned by none."""
    namespace = source.namespace
    tenant = TenantNames(namespace)
    owner = {**source.reference(), "controller": True, "blockOwnerDeletion": True}
    labels = {
        "app.kubernetes.io/name": "nidc-collector",
        "app.kubernetes.io/instance": name,
        "app.kubernetes.io/component": COMPONENT,
        "app.kubernetes.io/part-of": "nidc",
    }
    text = json.dumps({**config, "heartbeat_file": HEARTBEAT}, indent=2, sort_keys=True)
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    prefix = image.openbao_annotation_prefix
    s3_path = tenant.s3_credentials_api_path(image.openbao_kv_mount)
    annotations = {
        f"{prefix}/agent-inject": "true",
        f"{prefix}/role": tenant.openbao_role,
        f"{prefix}/agent-inject-secret-s3.env": s3_path,
        f"{prefix}/agent-inject-template-s3.env": (
            f'{{{{- with secret "{s3_path}" -}}}}\n'
            'export AWS_ACCESS_KEY_ID="{{ .Data.data.accessKey }}"\n'
            'export AWS_SECRET_ACCESS_KEY="{{ .Data.data.secretKey }}"\n'
            "{{- end }}\n"
        ),
        "nidc.io/config-hash": digest,
    }
    credentials = source.spec.credentials.open_bao_path if source.spec.credentials else None
    if credentials:
        annotations[f"{prefix}/agent-inject-secret-device.env"] = credentials
        annotations[f"{prefix}/agent-inject-template-device.env"] = (
            f'{{{{- with secret "{credentials}" -}}}}\n'
            'export NIDC_DEVICE_USERNAME="{{ .Data.data.username }}"\n'
            'export NIDC_DEVICE_PASSWORD="{{ .Data.data.password }}"\n'
            "{{- end }}\n"
        )
    entrypoint = (
        f'for f in {SECRETS_DIR}/*.env; do [ -f "$f" ] && . "$f"; done; '
        f"exec python -m nidc.collector {CONFIG_DIR}/config.json"
    )
    return [
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {
                "name": image.service_account,
                "namespace": namespace,
                "labels": {k: v for k, v in labels.items() if k != "app.kubernetes.io/instance"},
            },
        },
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": name,
                "namespace": namespace,
                "labels": labels,
                "ownerReferences": [owner],
            },
            "data": {"config.json": text},
        },
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {
                "name": name,
                "namespace": namespace,
                "labels": labels,
                "ownerReferences": [owner],
            },
            "spec": {
                "replicas": 1,
                "strategy": {"type": "Recreate"},
                "selector": {"matchLabels": {"app.kubernetes.io/instance": name}},
                "template": {
                    "metadata": {"labels": labels, "annotations": annotations},
                    "spec": {
                        "serviceAccountName": image.service_account,
                        "securityContext": {
                            "runAsNonRoot": True,
                            "runAsUser": 1000,
                            "seccompProfile": {"type": "RuntimeDefault"},
                        },
                        "containers": [
                            {
                                "name": COMPONENT,
                                "image": image.image,
                                "command": ["sh", "-c", entrypoint],
                                "resources": {
                                    "requests": {"cpu": "100m", "memory": "256Mi"},
                                    "limits": {"cpu": "1", "memory": "1Gi"},
                                },
                                "securityContext": {
                                    "allowPrivilegeEscalation": False,
                                    "capabilities": {"drop": ["ALL"]},
                                    "readOnlyRootFilesystem": True,
                                },
                                # The collector rewrites its heartbeat file while it works.
                                "livenessProbe": {
                                    "exec": {
                                        "command": [
                                            "sh",
                                            "-c",
                                            f"test $(( $(date +%s) - $(stat -c %Y {HEARTBEAT}) ))"
                                            " -lt 60",
                                        ]
                                    },
                                    "initialDelaySeconds": 30,
                                    "periodSeconds": 20,
                                },
                                "volumeMounts": [
                                    {"name": "config", "mountPath": CONFIG_DIR},
                                    {"name": "tmp", "mountPath": "/tmp"},
                                ],
                            }
                        ],
                        "volumes": [
                            {"name": "config", "configMap": {"name": name}},
                            {"name": "tmp", "emptyDir": {}},
                        ],
                    },
                },
            },
        },
    ]


class KubernetesCollectors:
    """Collectors as Deployments; the same calls as LocalCollectors."""

    def __init__(self, api: ApiClient, image: CollectorImage) -> None:
        self.api = api
        self.image = image

    def ensure_for(self, source: DataSource, name: str, config: dict[str, Any]) -> str:
        """Apply the ServiceAccount, ConfigMap and Deployment (create or adopt by name)."""
        for manifest in build_collector_objects(source, name, config, self.image):
            apply(self.api, manifest, field_manager=FIELD_MANAGER)
        return "applied"

    def running(self, source: DataSource, name: str) -> bool:
        """True when the Deployment has its one replica available."""
        deployment = get(self.api, "apps/v1", "Deployment", name, source.namespace)
        return bool(((deployment or {}).get("status") or {}).get("availableReplicas"))

    def stop_for(self, source: DataSource, name: str) -> None:
        """Delete the Deployment and its ConfigMap (owner references would too)."""
        namespace = source.namespace
        delete(self.api, "apps/v1", "Deployment", name, namespace)
        delete(self.api, "v1", "ConfigMap", name, namespace)
