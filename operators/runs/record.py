"""The PipelineRun record of one run, for any parent kind (pure).

Recorded before anything runs, under a name derived from (parent uid, generation, sequence), and
owned by its parent: a restarted operator finds it by name and adopts it.
"""

from __future__ import annotations

from typing import Any

from nidc.api.pipeline_run import Phase
from nidc.api.schema import API_VERSION, GROUP
from operators.runs.naming import run_name

PARENT_UID = f"{GROUP}/parent-uid"
GENERATION = f"{GROUP}/generation"
SEQUENCE = f"{GROUP}/sequence"
TERMINAL = {Phase.SUCCEEDED.value, Phase.FAILED.value, Phase.CANCELLED.value}


def build_run_record(
    parent: dict[str, Any],
    job_type: str,
    job: dict[str, Any],
    generation: int,
    sequence: int,
    pool: str = "cpu",
    max_attempts: int = 3,
) -> dict[str, Any]:
    """The PipelineRun for run (generation, sequence) of `parent` (pure)."""
    meta = parent["metadata"]
    return {
        "apiVersion": API_VERSION,
        "kind": "PipelineRun",
        "metadata": {
            "name": run_name(meta["name"], meta["uid"], generation, sequence),
            "namespace": meta["namespace"],
            "labels": {
                PARENT_UID: meta["uid"],
                GENERATION: str(generation),
                SEQUENCE: str(sequence),
            },
        },
        "spec": {
            "parent": {
                "kind": parent["kind"],
                "name": meta["name"],
                "uid": meta["uid"],
                "generation": generation,
            },
            "sequence": sequence,
            "jobType": job_type,
            "pool": pool,
            "maxAttempts": max_attempts,
            "job": job,
        },
    }


def run_key(run: dict[str, Any]) -> tuple[int, int]:
    """(generation, sequence) of a recorded run."""
    labels = run["metadata"]["labels"]
    return int(labels[GENERATION]), int(labels[SEQUENCE])


def run_phase(run: dict[str, Any]) -> str:
    """The run's phase (Pending until its first status write)."""
    return str((run.get("status") or {}).get("phase", Phase.PENDING.value))


def run_summary(run: dict[str, Any]) -> dict[str, Any]:
    """The `lastRun` of a parent's status."""
    status = run.get("status") or {}
    return {
        "name": run["metadata"]["name"],
        "phase": run_phase(run),
        "startedAt": status.get("startedAt"),
        "finishedAt": status.get("finishedAt"),
    }


def runs_to_prune(ordered: list[dict[str, Any]], history_limit: int) -> list[str]:
    """Names of finished runs beyond the history limit (runs in (generation, sequence) order).

    The last succeeded run is always kept: it records the table version its parent serves.
    """
    finished = [r for r in ordered if run_phase(r) in TERMINAL]
    succeeded = [r for r in finished if run_phase(r) == Phase.SUCCEEDED.value]
    keep = {r["metadata"]["name"] for r in finished[-history_limit:]}
    if succeeded:
        keep.add(succeeded[-1]["metadata"]["name"])
    return [r["metadata"]["name"] for r in finished if r["metadata"]["name"] not in keep]
