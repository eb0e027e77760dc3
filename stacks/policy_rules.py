"""The rules of the Pulumi policy pack (policies/pulumi/), as pure functions.

Each rule takes one resource as the engine shows it to a policy (its type token and its input
properties, camelCase as in the manifest) and returns the violations it finds, each a sentence
naming the object and the field. The pack wires them into pulumi-policy; tests call them here.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

REGION_LABEL = "topology.kubernetes.io/region"
GRADE_LABEL = "nidc.io/max-grade"
WORKLOADS = {
    "kubernetes:apps/v1:Deployment",
    "kubernetes:apps/v1:StatefulSet",
    "kubernetes:apps/v1:DaemonSet",
    "kubernetes:batch/v1:Job",
}
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
TENANT = "kubernetes:nidc.io/v1alpha1:Tenant"


@dataclass(frozen=True)
class Rule:
    """One policy: its name (as the pack reports it), what it enforces and its check."""

    name: str
    description: str
    check: Callable[[str, Mapping[str, Any]], list[str]]


def _name(props: Mapping[str, Any]) -> str:
    meta = props.get("metadata") or {}
    ns = meta.get("namespace")
    return f"{ns}/{meta.get('name')}" if ns else str(meta.get("name"))


def _pod_spec(resource_type: str, props: Mapping[str, Any]) -> Mapping[str, Any] | None:
    if resource_type not in WORKLOADS:
        return None
    spec = props.get("spec") or {}
    template = spec.get("template") or {}
    pod: Mapping[str, Any] | None = template.get("spec")
    return pod


def _containers(pod: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    yield from pod.get("initContainers") or []
    yield from pod.get("containers") or []


def _buckets(resource_type: str, props: Mapping[str, Any]) -> list[dict[str, Any]] | None:
    labels = (props.get("metadata") or {}).get("labels") or {}
    if resource_type != CONFIG_MAP or labels.get("nidc.io/config") != "buckets":
        return None
    text = (props.get("data") or {}).get("buckets.json", "[]")
    buckets: list[dict[str, Any]] = json.loads(text)
    return buckets


def check_tls(resource_type: str, props: Mapping[str, Any]) -> list[str]:
    """Every platform server that listens on a port (a `health` probe port aside) mounts its TLS
    certificate (a volume named `tls` from a Secret); no server config turns TLS off."""
    problems = []
    pod = _pod_spec(resource_type, props)
    serving = pod is not None and any(
        # A kubelet-only health port is plain HTTP by design; every other port serves clients.
        port.get("name") != "health"
        for c in _containers(pod)
        for port in c.get("ports") or []
    )
    if pod is not None and serving:
        tls = [v for v in pod.get("volumes") or [] if v.get("name") == "tls" and v.get("secret")]
        if not tls:
            problems.append(
                f"{_name(props)}: serves a port without a TLS certificate "
                "(no `tls` volume from a Secret)"
            )
    if resource_type == CONFIG_MAP:
        for key, text in (props.get("data") or {}).items():
            if isinstance(text, str) and "tls_disable = true" in text:
                problems.append(f"{_name(props)}: {key} disables TLS (tls_disable = true)")
    return problems


def check_no_public_buckets(resource_type: str, props: Mapping[str, Any]) -> list[str]:
    """No bucket is readable without credentials."""
    return [
        f"{_name(props)}: bucket {b['name']} is {b['access']}; buckets must be private"
        for b in _buckets(resource_type, props) or []
        if b.get("access", "private") != "private"
    ]


def check_tenant_gpu_quota(resource_type: str, props: Mapping[str, Any]) -> list[str]:
    """Every tenant states its GPU quota (spec.quotas.gpus), even when it is 0."""
    if resource_type != TENANT:
        return []
    quotas = (props.get("spec") or {}).get("quotas") or {}
    if "gpus" not in quotas:
        return [f"tenant {_name(props)}: spec.quotas.gpus is not set (GPU quota required)"]
    return []


def _grade3_replication_peers(
    resource_type: str, props: Mapping[str, Any], center_region: str | None
) -> list[str]:
    """Peers in the published replication config that would take grade-3 data out of region."""
    labels = (props.get("metadata") or {}).get("labels") or {}
    if resource_type != CONFIG_MAP or labels.get("nidc.io/config") != "replication":
        return []
    try:
        config = json.loads((props.get("data") or {}).get("replication.json", "{}"))
    except ValueError:
        return [f"{_name(props)}: replication.json is not JSON"]
    return [
        f"{_name(props)}: replication peer {peer.get('center')} (region {peer.get('region')!r}) "
        f"offers a grade-3 bucket; core data never leaves region {center_region!r}"
        for peer in config.get("peers") or []
        if "3" in {str(g) for g in (peer.get("buckets") or {})}
        and peer.get("region") != center_region
    ]


def check_grade3_in_region(resource_type: str, props: Mapping[str, Any]) -> list[str]:
    """Grade-3 (core) storage stays in its region: a grade-3 bucket names the center's own
    region, servers holding grade-3 data are pinned to that region's nodes, and no replication
    peer outside the region offers a bucket for grade-3 copies."""
    problems = []
    labels = (props.get("metadata") or {}).get("labels") or {}
    center_region = labels.get(REGION_LABEL)
    for b in _buckets(resource_type, props) or []:
        if b.get("grade") == 3 and b.get("region") != center_region:
            problems.append(
                f"{_name(props)}: grade-3 bucket {b['name']} is in region "
                f"{b.get('region')!r}, not the center's {center_region!r}"
            )
    problems += _grade3_replication_peers(resource_type, props, center_region)
    pod = _pod_spec(resource_type, props)
    if pod is not None and labels.get(GRADE_LABEL) == "3":
        pinned = (pod.get("nodeSelector") or {}).get(REGION_LABEL)
        if pinned != center_region or not pinned:
            problems.append(
                f"{_name(props)}: holds grade-3 data but is not pinned to region "
                f"{center_region!r} (nodeSelector {REGION_LABEL}={pinned!r})"
            )
    return problems


def check_resource_limits(resource_type: str, props: Mapping[str, Any]) -> list[str]:
    """Every container (init containers too) has CPU and memory limits."""
    pod = _pod_spec(resource_type, props)
    if pod is None:
        return []
    problems = []
    for c in _containers(pod):
        limits = (c.get("resources") or {}).get("limits") or {}
        missing = [k for k in ("cpu", "memory") if k not in limits]
        if missing:
            problems.append(
                f"{_name(props)}: container {c.get('name')} has no {' or '.join(missing)} limit"
            )
    return problems


RULES = (
    Rule("tls-on", "Platform servers serve TLS only.", check_tls),
    Rule("no-public-buckets", "Buckets are private.", check_no_public_buckets),
    Rule("tenant-gpu-quota", "Every tenant has a GPU quota.", check_tenant_gpu_quota),
    Rule("grade3-in-region", "Grade-3 storage is pinned to its region.", check_grade3_in_region),
    Rule("resource-limits", "Every container has CPU and memory limits.", check_resource_limits),
)
