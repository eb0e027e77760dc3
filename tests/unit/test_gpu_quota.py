"""A GPU run waits for its tenant's GPU quota (operators/runs/gpu_quota.py), pure parts."""

from __future__ import annotations

import threading
from typing import Any

from nidc.api.spark_pool import default_pools
from operators.runs.gpu_quota import WAITING_REASON, GpuLocks, admission, gpus_needed, holders

POOLS = default_pools()


def run(name: str, pool: str, phase: str | None) -> dict[str, Any]:
    status = {"phase": phase} if phase else {}
    return {"metadata": {"name": name}, "spec": {"pool": pool}, "status": status}


def test_a_gpu_run_holds_every_executors_gpus_and_a_cpu_run_none() -> None:
    gpu = POOLS["gpu"]
    assert gpu.gpu is not None
    assert gpus_needed(gpu) == gpu.executor_instances * gpu.gpu.amount_per_executor > 0
    assert gpus_needed(POOLS["cpu"]) == 0 and gpus_needed(None) == 0


def test_only_submitted_and_running_gpu_runs_hold_gpus() -> None:
    runs = [
        run("a", "gpu", "Running"),
        run("b", "gpu", "Submitted"),
        run("c", "gpu", "Pending"),
        run("d", "gpu", "Succeeded"),
        run("e", "cpu", "Running"),
        run("f", "gpu", None),
    ]
    need = gpus_needed(POOLS["gpu"])
    assert holders(runs, POOLS) == {"a": need, "b": need}


def test_the_second_run_over_the_quota_waits_saying_who_holds_the_gpus() -> None:
    assert admission("first", 2, quota=2, held={}) is None
    waiting = admission("second", 2, quota=2, held={"first": 2})
    assert waiting is not None and waiting.startswith(WAITING_REASON)
    assert "needs 2 GPUs; 2 of the tenant's 2 are held by first (2)" in waiting
    # A run's own hold does not count against it (a re-check after its Submitted write).
    assert admission("first", 2, quota=2, held={"first": 2}) is None
    alone = admission("big", 4, quota=2, held={})
    assert alone is not None and "more than the tenant's quota of 2" in alone
    assert "spec.quotas.gpus" in alone


def test_one_lock_per_namespace() -> None:
    locks = GpuLocks()
    assert locks.of("a") is locks.of("a") and locks.of("a") is not locks.of("b")
    assert isinstance(locks.of("a"), type(threading.Lock()))
