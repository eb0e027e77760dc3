"""SparkPools: the center's Spark pools (cpu, gpu), and the namespace and RBAC of decision 0010.

The pools are the one model of nidc/api/spark_pool.py: the stack config's `sparkPools.pools` is
that model's document, read by the same `pools_from_dict` the operator uses, and the ControlPlane
publishes it (`pools_document`) as the ConfigMap mounted into the operator's pod (a pod mounts
ConfigMaps of its own namespace only). Drivers are Jobs the operator's Kubernetes runner makes in
each tenant's namespace with their own executor pod template and GPU discovery script
(decisions/0040); the spark-submit conf and pod templates this component used to publish had no
reader and are gone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi

from nidc.api.spark_pool import PoolError, SparkPool, pools_document
from stacks.manifests import (
    ArgsError,
    build_namespace,
    create_objects,
    labels,
    require,
    require_name,
)

# Prints the GPUs of this container in the format Spark's resource discovery expects.
DISCOVERY_SCRIPT = """#!/bin/sh
# Spark resource discovery: {"name": "gpu", "addresses": ["0", "1", ...]}
ids=$(nvidia-smi --query-gpu=index --format=csv,noheader | sed 's/.*/"&"/' | paste -sd, -)
echo "{\\"name\\": \\"gpu\\", \\"addresses\\": [${ids}]}"
"""


@dataclass(frozen=True)
class SparkPoolsArgs:
    """Typed arguments of the SparkPools component."""

    center: str
    pools: tuple[SparkPool, ...]
    namespace: str = "nidc-spark"

    def __post_init__(self) -> None:
        require_name(self.namespace, "sparkPools.namespace")
        require(bool(self.pools), "sparkPools.pools", "at least one pool")
        try:
            pools_document(self.pools)
        except PoolError as error:
            raise ArgsError(f"sparkPools.{error}") from error


def build_spark_pools(args: SparkPoolsArgs) -> list[dict[str, Any]]:
    """Namespace, spark-submit RBAC and the GPU discovery script (decision 0010)."""
    meta_labels = labels("spark", "spark-pools", args.center)
    return [
        build_namespace(args.namespace, args.center),
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": "spark", "namespace": args.namespace, "labels": meta_labels},
        },
        {
            # What a Spark driver does on Kubernetes: executor pods, their service, conf maps.
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": {
                "name": "spark-driver",
                "namespace": args.namespace,
                "labels": meta_labels,
            },
            "rules": [
                {
                    "apiGroups": [""],
                    "resources": ["pods", "services", "configmaps", "persistentvolumeclaims"],
                    "verbs": [
                        "get",
                        "list",
                        "watch",
                        "create",
                        "update",
                        "patch",
                        "delete",
                        "deletecollection",
                    ],
                },
                {"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get"]},
            ],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": {
                "name": "spark-driver",
                "namespace": args.namespace,
                "labels": meta_labels,
            },
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "Role",
                "name": "spark-driver",
            },
            "subjects": [{"kind": "ServiceAccount", "name": "spark", "namespace": args.namespace}],
        },
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": "spark-gpu-discovery",
                "namespace": args.namespace,
                "labels": meta_labels,
            },
            "data": {"discover.sh": DISCOVERY_SCRIPT},
        },
    ]


class SparkPools(pulumi.ComponentResource):
    """Spark for one center; `pools` lists the pool names."""

    pools: pulumi.Output[list[str]]

    def __init__(
        self, name: str, args: SparkPoolsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("nidc:spark:SparkPools", name, None, opts)
        self.children = create_objects(name, build_spark_pools(args), self)
        self.pools = pulumi.Output.from_input([p.name for p in args.pools])
        self.register_outputs({"pools": self.pools})
