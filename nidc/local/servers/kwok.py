"""kwok: simulates a CPU node and a GPU node and the pods the scheduler binds to them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nidc.kube import api_client, apply, list_objects
from nidc.local.servers.base import LOOPBACK, Context, HealthError, Server
from nidc.local.tools.manifest import data_path, load_manifest

KWOK_ANNOTATION = "kwok.x-k8s.io/node"
GPU_RESOURCE = "nvidia.com/gpu"


def build_node(name: str, pool: str, capacity: dict[str, str]) -> dict[str, Any]:
    """A kwok-managed Node: kwok keeps its status and leases as a kubelet would."""
    labels = {
        "kubernetes.io/hostname": name,
        "kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        "type": "kwok",
        "nidc.io/pool": pool,
    }
    taints: list[dict[str, str]] = []
    if pool == "gpu":
        labels["nvidia.com/gpu.present"] = "true"
        # Only pods that tolerate GPUs land here, as on a real GPU pool.
        taints.append({"key": GPU_RESOURCE, "value": "present", "effect": "NoSchedule"})
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "labels": labels, "annotations": {KWOK_ANNOTATION: "fake"}},
        "spec": {"taints": taints},
        "status": {"capacity": capacity, "allocatable": capacity},
    }


def build_nodes() -> list[dict[str, Any]]:
    """The two simulated nodes: one CPU node, one node with four GPUs."""
    base = {"cpu": "16", "memory": "64Gi", "pods": "110", "ephemeral-storage": "200Gi"}
    return [
        build_node("nidc-cpu-0", "cpu", base),
        build_node("nidc-gpu-0", "gpu", {**base, GPU_RESOURCE: "4"}),
    ]


class Kwok(Server):
    """kwok playing kubelet for the nodes annotated kwok.x-k8s.io/node=fake."""

    name = "kwok"
    tool = "kwok"

    def ports(self) -> list[str]:
        return ["kwok"]

    def command(self, ctx: Context) -> list[str]:
        stages = [data_path(self.tool, Path(p).name) for p in load_manifest()[self.tool].data]
        cert = ctx.server_cert()
        return [
            str(ctx.binary(self.tool)),
            *[f"--config={stage}" for stage in stages],
            f"--kubeconfig={ctx.state.component_kubeconfig(self.name)}",
            "--manage-all-nodes=false",
            f"--manage-nodes-with-annotation-selector={KWOK_ANNOTATION}=fake",
            f"--server-address={LOOPBACK}:{ctx.state.port(self.name)}",
            f"--tls-cert-file={cert.cert}",
            f"--tls-private-key-file={cert.key}",
            "--node-ip=127.0.0.1",
            "--node-lease-duration-seconds=40",
            "--cidr=10.244.0.1/16",
        ]

    def check_started(self, ctx: Context) -> str:
        response = ctx.get(f"{ctx.url(self.name)}/healthz")
        if response.status_code != 200:
            raise HealthError(f"/healthz answered {response.status_code}")
        return "healthz ok"

    def after_ready(self, ctx: Context) -> None:
        with api_client(ctx.state.component_kubeconfig("bootstrap")) as api:
            for node in build_nodes():
                apply(api, node, field_manager="nidc-local")

    def check(self, ctx: Context) -> str:
        self.check_started(ctx)
        with api_client(ctx.state.component_kubeconfig("bootstrap")) as api:
            nodes = list_objects(api, "v1", "Node", label_selector="type=kwok")
        ready = [
            str(node["metadata"]["name"])
            for node in nodes
            if any(
                c["type"] == "Ready" and c["status"] == "True"
                for c in node.get("status", {}).get("conditions") or []
            )
        ]
        expected = {n["metadata"]["name"] for n in build_nodes()}
        if not expected <= set(ready):
            raise HealthError(f"nodes ready: {sorted(ready)}, expected {sorted(expected)}")
        return f"{len(ready)} nodes Ready"
