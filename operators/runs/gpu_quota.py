"""A GPU run waits for its tenant's GPU quota instead of failing at the quota's admission.

On a cluster a GPU-pool run's executors each ask for `amount_per_executor` GPUs, and the
tenant's ResourceQuota (`requests.nvidia.com/gpu`, from Tenant.spec.quotas.gpus) refuses the
executor pods once the namespace's GPUs are taken: Spark would then retry pods quietly and the
run would hang. So a run is submitted only when the GPUs its pool needs fit beside the runs
already submitted or running in the namespace; otherwise it stays Pending with a reason that
names the quota and who holds it, and is looked at again shortly. The local runner has no GPUs
(a GPU product runs the CPU path there), so nothing waits on it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from nidc.api.pipeline_run import Phase
from nidc.api.spark_pool import SparkPool

WAITING_REASON = "WaitingForGpuQuota"
RECHECK_SECONDS = 10.0
HOLDING = (Phase.SUBMITTED.value, Phase.RUNNING.value)


def gpus_needed(pool: SparkPool | None) -> int:
    """GPUs a run of this pool holds while it runs: every executor's share (the driver none)."""
    if pool is None or pool.gpu is None:
        return 0
    return pool.executor_instances * pool.gpu.amount_per_executor


def holders(runs: Iterable[Mapping[str, Any]], pools: Mapping[str, SparkPool]) -> dict[str, int]:
    """Runs of the namespace that hold GPUs now (submitted or running) -> how many."""
    held = {}
    for run in runs:
        phase = (run.get("status") or {}).get("phase")
        need = gpus_needed(pools.get(str(run["spec"].get("pool"))))
        if phase in HOLDING and need:
            held[run["metadata"]["name"]] = need
    return held


def admission(name: str, need: int, quota: int, held: Mapping[str, int]) -> str | None:
    """None when `need` GPUs fit in `quota` beside `held` (pure); else why the run waits."""
    others = {run: gpus for run, gpus in held.items() if run != name}
    in_use = sum(others.values())
    if in_use + need <= quota:
        return None
    if need > quota:
        return (
            f"{WAITING_REASON}: needs {need} GPUs, more than the tenant's quota of {quota}; "
            "raise spec.quotas.gpus of the Tenant or use a pool with fewer GPU executors"
        )
    listed = ", ".join(f"{run} ({gpus})" for run, gpus in sorted(others.items()))
    return (
        f"{WAITING_REASON}: needs {need} GPUs; {in_use} of the tenant's {quota} are held by "
        f"{listed}"
    )


@dataclass
class GpuLocks:
    """One lock per namespace: a check and the Submitted write it allows happen together, so
    two runs checked at once cannot both take the last GPUs (one operator is active at a time)."""

    _locks: dict[str, threading.Lock] = field(default_factory=dict)
    _guard: threading.Lock = field(default_factory=threading.Lock)

    def of(self, namespace: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(namespace, threading.Lock())
