"""Spark pools (cpu, gpu) as plain data: where a run's executors go and what they get.

One format, one reader: the stack publishes `pools_document(...)` as the `pools.json` key of a
ConfigMap mounted into the operator's pod, and the operator parses the file NIDC_SPARK_POOLS_FILE
names with `load_pools`; the Kubernetes runner turns a pool into Spark configuration and pod
fields. No Kubernetes client here: a pool is data, checked by `pools_from_dict` with errors that
name the field.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

POOL_LABEL = "nidc.io/pool"
GPU_RESOURCE = "nvidia.com/gpu"
# Where the executor pod template mounts the discovery script (from the run's ConfigMap).
GPU_DISCOVERY_SCRIPT = "/etc/nidc/gpu/getGpusResources.sh"
# The ConfigMap key (and so the file name under its mount) the stack publishes pools under.
POOLS_FILE = "pools.json"
_LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$")


class PoolError(ValueError):
    """A pool definition that cannot be used; the message names the field."""


@dataclass(frozen=True)
class Toleration:
    """A Kubernetes toleration (the GPU nodes' taint is nvidia.com/gpu=present:NoSchedule)."""

    key: str
    value: str = ""
    effect: str = "NoSchedule"
    operator: str = "Equal"

    def to_kubernetes(self) -> dict[str, str]:
        """The toleration as it appears in a pod spec."""
        found = {"key": self.key, "operator": self.operator, "effect": self.effect}
        if self.operator == "Equal":
            found["value"] = self.value
        return found


@dataclass(frozen=True)
class GpuSettings:
    """Spark's GPU scheduling for executors (spark.executor/task.resource.gpu.*)."""

    # GPUs each executor pod asks for (nvidia.com/gpu limit) and Spark schedules on.
    amount_per_executor: int = 1
    # Fraction of a GPU one task takes: 0.25 lets four tasks share one GPU.
    amount_per_task: float = 0.25
    vendor: str = "nvidia.com"
    discovery_script: str = GPU_DISCOVERY_SCRIPT
    # RAPIDS Accelerator (spark.plugins=com.nvidia.spark.SQLPlugin): off unless the image
    # carries the rapids-4-spark jar matching its Spark and CUDA.
    rapids: bool = False

    @property
    def resource(self) -> str:
        """The extended resource name pods request: <vendor>/gpu."""
        return f"{self.vendor}/gpu"


@dataclass(frozen=True)
class SparkPool:
    """One pool: executor sizing and placement, and GPUs for the gpu pool."""

    name: str
    node_selector: Mapping[str, str]
    tolerations: tuple[Toleration, ...] = ()
    executor_instances: int = 2
    executor_cores: int = 2
    executor_memory_mib: int = 4096
    driver_cores: int = 1
    driver_memory_mib: int = 2048
    # The driver needs no GPU: it stays on CPU nodes whatever pool its executors use.
    driver_node_selector: Mapping[str, str] = field(default_factory=lambda: {POOL_LABEL: "cpu"})
    gpu: GpuSettings | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able data, as `pool_from_dict` reads it (the name is the document's key)."""
        data = asdict(self)
        del data["name"]
        data["node_selector"] = dict(self.node_selector)
        data["driver_node_selector"] = dict(self.driver_node_selector)
        data["tolerations"] = [asdict(t) for t in self.tolerations]
        return data


def pools_document(pools: Iterable[SparkPool]) -> str:
    """The published document ({"pools": {name: settings}}) that `load_pools` reads back."""
    found: dict[str, Any] = {}
    for pool in pools:
        if pool.name in found:
            raise PoolError(f"pools.{pool.name}: defined twice")
        found[pool.name] = pool.to_dict()
    # Checked on the way out, so the stack never publishes what the operator would refuse.
    pools_from_dict({"pools": found})
    return json.dumps({"pools": found}, indent=2, sort_keys=True)


def default_pools() -> dict[str, SparkPool]:
    """cpu and gpu as the embedded platform's kwok nodes are labelled and tainted."""
    return {
        "cpu": SparkPool(name="cpu", node_selector={POOL_LABEL: "cpu"}),
        "gpu": SparkPool(
            name="gpu",
            node_selector={POOL_LABEL: "gpu"},
            tolerations=(Toleration(key=GPU_RESOURCE, value="present"),),
            executor_instances=1,
            executor_cores=4,
            executor_memory_mib=8192,
            gpu=GpuSettings(),
        ),
    }


def _positive_int(data: Mapping[str, Any], key: str, where: str, default: int) -> int:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise PoolError(f"{where}.{key}: must be a positive integer, got {value!r}")
    return value


def _labels(data: Mapping[str, Any], key: str, where: str, default: Any) -> dict[str, str]:
    value = data.get(key, default)
    if not isinstance(value, Mapping):
        raise PoolError(f"{where}.{key}: must be a mapping of label to value, got {value!r}")
    for label, text in value.items():
        if not isinstance(label, str) or not isinstance(text, str) or not _LABEL_VALUE.match(text):
            raise PoolError(f"{where}.{key}.{label}: not a valid label value: {text!r}")
    return dict(value)


def _gpu_from_dict(data: Any, where: str) -> GpuSettings:
    if not isinstance(data, Mapping):
        raise PoolError(f"{where}: must be a mapping, got {data!r}")
    task = data.get("amount_per_task", 0.25)
    if isinstance(task, bool) or not isinstance(task, int | float) or not 0 < task <= 1:
        raise PoolError(f"{where}.amount_per_task: must be > 0 and <= 1, got {task!r}")
    script = data.get("discovery_script", GPU_DISCOVERY_SCRIPT)
    if not isinstance(script, str) or not script.startswith("/"):
        raise PoolError(f"{where}.discovery_script: must be an absolute path, got {script!r}")
    rapids = data.get("rapids", False)
    if not isinstance(rapids, bool):
        raise PoolError(f"{where}.rapids: must be true or false, got {rapids!r}")
    vendor = data.get("vendor", "nvidia.com")
    if not isinstance(vendor, str) or not vendor:
        raise PoolError(f"{where}.vendor: must be a domain such as nvidia.com, got {vendor!r}")
    return GpuSettings(
        amount_per_executor=_positive_int(data, "amount_per_executor", where, 1),
        amount_per_task=float(task),
        vendor=vendor,
        discovery_script=script,
        rapids=rapids,
    )


def pool_from_dict(name: str, data: Mapping[str, Any]) -> SparkPool:
    """One pool from plain data; raises PoolError naming the bad field."""
    where = f"pools.{name}"
    if not isinstance(data, Mapping):
        raise PoolError(f"{where}: must be a mapping, got {data!r}")
    tolerations = []
    for index, item in enumerate(data.get("tolerations", [])):
        if not isinstance(item, Mapping) or not isinstance(item.get("key"), str):
            raise PoolError(f"{where}.tolerations[{index}].key: required, got {item!r}")
        tolerations.append(Toleration(**{k: str(v) for k, v in item.items()}))
    gpu = data.get("gpu")
    return SparkPool(
        name=name,
        node_selector=_labels(data, "node_selector", where, {POOL_LABEL: name}),
        tolerations=tuple(tolerations),
        executor_instances=_positive_int(data, "executor_instances", where, 2),
        executor_cores=_positive_int(data, "executor_cores", where, 2),
        executor_memory_mib=_positive_int(data, "executor_memory_mib", where, 4096),
        driver_cores=_positive_int(data, "driver_cores", where, 1),
        driver_memory_mib=_positive_int(data, "driver_memory_mib", where, 2048),
        driver_node_selector=_labels(data, "driver_node_selector", where, {POOL_LABEL: "cpu"}),
        gpu=None if gpu is None else _gpu_from_dict(gpu, f"{where}.gpu"),
    )


def pools_from_dict(data: Mapping[str, Any]) -> dict[str, SparkPool]:
    """Every pool of a published document ({"pools": {"cpu": {...}, "gpu": {...}}})."""
    pools = data.get("pools") if isinstance(data, Mapping) else None
    if not isinstance(pools, Mapping) or not pools:
        raise PoolError("pools: must be a non-empty mapping of pool name to settings")
    return {str(name): pool_from_dict(str(name), body) for name, body in pools.items()}


def load_pools(path: Path | None) -> dict[str, SparkPool]:
    """Pools from a JSON/YAML file the stacks wrote, or the defaults when there is none."""
    if path is None:
        return default_pools()
    text = path.read_text()
    data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    return pools_from_dict(data)
