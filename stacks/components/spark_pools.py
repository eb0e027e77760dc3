"""SparkPools: spark-submit on Kubernetes (RBAC for drivers) and the CPU and GPU pool definitions.

The Spark Operator's Go module is not served by the module proxy here, so drivers are started by
spark-submit (decisions/0010): a service account whose Role may create executor pods, services
and config maps, plus one ConfigMap `spark-pools` that the operators read to build a job's
node selector, tolerations, GPU amount, discovery script and RAPIDS settings.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pulumi

from stacks.manifests import (
    Resources,
    build_namespace,
    create_objects,
    labels,
    require,
    require_name,
)

GPU_RESOURCE = "nvidia.com/gpu"
DISCOVERY_PATH = "/opt/nidc/gpu/discover.sh"
# Prints the GPUs of this container in the format Spark's resource discovery expects.
DISCOVERY_SCRIPT = """#!/bin/sh
# Spark resource discovery: {"name": "gpu", "addresses": ["0", "1", ...]}
ids=$(nvidia-smi --query-gpu=index --format=csv,noheader | sed 's/.*/"&"/' | paste -sd, -)
echo "{\\"name\\": \\"gpu\\", \\"addresses\\": [${ids}]}"
"""


@dataclass(frozen=True)
class Pool:
    """One pool of Spark executors."""

    name: str
    node_selector: dict[str, str] = field(default_factory=dict)
    tolerations: tuple[dict[str, str], ...] = ()
    gpus_per_executor: int = 0
    max_executors: int = 4
    rapids: bool = False
    executor: Resources = field(default_factory=lambda: Resources("1", "2Gi", "2", "4Gi"))

    def __post_init__(self) -> None:
        require_name(self.name, f"sparkPools.pools.{self.name}.name")
        require(
            0 <= self.gpus_per_executor <= 8,
            f"sparkPools.pools.{self.name}.gpusPerExecutor",
            "must be 0..8",
        )
        require(
            1 <= self.max_executors <= 500,
            f"sparkPools.pools.{self.name}.maxExecutors",
            "must be 1..500",
        )
        require(
            not self.rapids or self.gpus_per_executor > 0,
            f"sparkPools.pools.{self.name}.rapids",
            "needs gpusPerExecutor > 0",
        )


@dataclass(frozen=True)
class SparkPoolsArgs:
    """Typed arguments of the SparkPools component."""

    center: str
    spark_image: str
    pools: tuple[Pool, ...]
    namespace: str = "nidc-spark"
    rapids_jar: str = "com.nvidia:rapids-4-spark_2.13:25.10.0"

    def __post_init__(self) -> None:
        require_name(self.namespace, "sparkPools.namespace")
        require(bool(self.pools), "sparkPools.pools", "at least one pool")
        names = [p.name for p in self.pools]
        require(len(names) == len(set(names)), "sparkPools.pools", "duplicate pool names")


def build_pool_conf(args: SparkPoolsArgs, pool: Pool) -> dict[str, str]:
    """The Spark properties of one pool (what spark-submit gets for a job on it)."""
    conf = {
        "spark.kubernetes.namespace": args.namespace,
        "spark.kubernetes.container.image": args.spark_image,
        "spark.kubernetes.authenticate.driver.serviceAccountName": "spark",
        "spark.dynamicAllocation.enabled": "true",
        "spark.dynamicAllocation.shuffleTracking.enabled": "true",
        "spark.dynamicAllocation.maxExecutors": str(pool.max_executors),
        "spark.executor.cores": pool.executor.cpu_request,
        "spark.executor.memory": pool.executor.memory_request.replace("Gi", "g"),
        "spark.kubernetes.executor.limit.cores": pool.executor.cpu_limit,
        "spark.kubernetes.executor.podTemplateFile": f"/opt/nidc/pools/{pool.name}.yaml",
    }
    for key, value in pool.node_selector.items():
        conf[f"spark.kubernetes.node.selector.{key}"] = value
    if pool.gpus_per_executor:
        conf.update(
            {
                "spark.executor.resource.gpu.amount": str(pool.gpus_per_executor),
                "spark.executor.resource.gpu.vendor": "nvidia.com",
                "spark.executor.resource.gpu.discoveryScript": DISCOVERY_PATH,
                "spark.task.resource.gpu.amount": "1",
            }
        )
    if pool.rapids:
        conf.update(
            {
                "spark.jars.packages": args.rapids_jar,
                "spark.plugins": "com.nvidia.spark.SQLPlugin",
                "spark.rapids.sql.enabled": "true",
                "spark.rapids.memory.pinnedPool.size": "2g",
            }
        )
    return conf


def build_pod_template(pool: Pool) -> dict[str, Any]:
    """The executor pod template: tolerations, limits and (GPU pools) the discovery script."""
    container: dict[str, Any] = {"name": "executor", "resources": pool.executor.manifest()}
    spec: dict[str, Any] = {
        "nodeSelector": dict(pool.node_selector),
        "tolerations": [dict(t) for t in pool.tolerations],
        "containers": [container],
    }
    if pool.gpus_per_executor:
        container["resources"]["limits"][GPU_RESOURCE] = str(pool.gpus_per_executor)
        container["volumeMounts"] = [{"name": "gpu-discovery", "mountPath": "/opt/nidc/gpu"}]
        spec["volumes"] = [
            {
                "name": "gpu-discovery",
                "configMap": {"name": "spark-gpu-discovery", "defaultMode": 0o555},
            }
        ]
    return {"apiVersion": "v1", "kind": "Pod", "spec": spec}


def build_spark_pools(args: SparkPoolsArgs) -> list[dict[str, Any]]:
    """Namespace, spark-submit RBAC, discovery script and the pools' ConfigMap."""
    meta_labels = labels("spark", "spark-pools", args.center)
    pools = {
        p.name: {
            "nodeSelector": p.node_selector,
            "tolerations": list(p.tolerations),
            "gpusPerExecutor": p.gpus_per_executor,
            "rapids": p.rapids,
            "conf": build_pool_conf(args, p),
        }
        for p in args.pools
    }
    data = {"pools.json": json.dumps(pools, indent=2, sort_keys=True)}
    data.update(
        {f"{p.name}.yaml": json.dumps(build_pod_template(p), sort_keys=True) for p in args.pools}
    )
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
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": "spark-pools",
                "namespace": args.namespace,
                "labels": {**meta_labels, "nidc.io/config": "spark-pools"},
            },
            "data": data,
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
