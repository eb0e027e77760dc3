"""Which device a task computes on: the executor's GPU when Spark assigned one, else the CPU."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Device:
    """An array namespace and what to say about it in a run's status."""

    name: str  # "cpu" or "cuda:<address>"
    xp: Any
    reason: str  # why this device (shown when the CPU path ran on a GPU pool)

    @property
    def is_gpu(self) -> bool:
        return self.name != "cpu"


def cpu(reason: str) -> Device:
    import array_api_compat.numpy as xp

    return Device("cpu", xp, reason)


def gpu_addresses() -> list[str]:
    """The GPU addresses Spark assigned to the running task (none outside a task)."""
    from pyspark import TaskContext

    context = TaskContext.get()
    if context is None:
        return []
    resource = context.resources().get("gpu")
    return list(resource.addresses) if resource is not None else []


def executor_device(addresses: list[str] | None = None) -> Device:
    """The task's device: its first assigned GPU through CuPy, else the CPU through NumPy."""
    assigned = gpu_addresses() if addresses is None else addresses
    if not assigned:
        return cpu("no GPU assigned to this task (spark.task.resource.gpu.amount unset or 0)")
    try:
        import array_api_compat.cupy as xp
        import cupy
    except ImportError:
        return cpu(f"GPU {assigned[0]} assigned but CuPy is not installed in the job image")
    cupy.cuda.Device(int(assigned[0])).use()
    return Device(f"cuda:{assigned[0]}", xp, "GPU assigned by Spark")


def to_host(array: Any) -> Any:
    """A NumPy array of a NumPy or CuPy array."""
    import numpy
    from array_api_compat import is_cupy_array

    return array.get() if is_cupy_array(array) else numpy.asarray(array)
