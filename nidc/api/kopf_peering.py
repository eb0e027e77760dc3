"""kopf's peering API (kopf.dev/v1 ClusterKopfPeering), which our operator replicas share.

The kopf package ships no CRD for its peering objects, so the definition is built here from
kopf's documented schema (a free-form status of peers); `nidc api generate` writes it to crds/.
"""

from __future__ import annotations

from typing import Any

PEERING_NAME = "nidc-operator"
PEERING_GROUP = "kopf.dev"
PEERING_CRD_FILE = "clusterkopfpeerings.kopf.dev.yaml"


def build_peering_crd() -> dict[str, Any]:
    """The ClusterKopfPeering CRD (pure)."""
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {
            "name": f"clusterkopfpeerings.{PEERING_GROUP}",
            "labels": {"app.kubernetes.io/part-of": "nidc"},
        },
        "spec": {
            "group": PEERING_GROUP,
            "scope": "Cluster",
            "names": {
                "kind": "ClusterKopfPeering",
                "plural": "clusterkopfpeerings",
                "singular": "clusterkopfpeering",
            },
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "description": "Operator replicas that see each other (kopf).",
                            "properties": {
                                "status": {
                                    "type": "object",
                                    "description": "Peers by identity: priority, lifetime, "
                                    "lastseen.",
                                    "x-kubernetes-preserve-unknown-fields": True,
                                }
                            },
                        }
                    },
                }
            ],
        },
    }


def build_peering_object() -> dict[str, Any]:
    """The one peering object all replicas of the operator share (pure)."""
    return {
        "apiVersion": f"{PEERING_GROUP}/v1",
        "kind": "ClusterKopfPeering",
        "metadata": {"name": PEERING_NAME, "labels": {"app.kubernetes.io/part-of": "nidc"}},
    }
