"""On the embedded platform, at most N runs hold a Spark JVM at once; the rest wait Pending.

The local runner starts every submitted run as a local Spark process. On a small machine (the
demo's two cores) six JVMs at once each get a sliver of CPU and all finish late; runs queued for a
slot finish sooner one after another. A cluster has no such limit: its scheduler and the tenants'
quotas place the driver pods. The limit (NIDC_LOCAL_RUN_SLOTS, 0 = none) counts the runs
submitted or running in every namespace; a run over it stays Pending, its attempts unspent, with a
reason `kubectl get` shows, and is looked at again shortly. Slots go first come, first served:
a run waits while runs recorded before it wait too, so a device source whose batches keep coming
cannot starve a product's transform.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from typing import Any

from nidc.api.job_specs import starts_spark
from nidc.api.pipeline_run import Phase

WAITING_REASON = "WaitingForLocalSlot"
RECHECK_SECONDS = 5.0
HOLDING = (Phase.SUBMITTED.value, Phase.RUNNING.value)

# A check and the Submitted write it allows happen under this lock (one operator is active).
SLOT_LOCK = threading.Lock()


def _spark(runs: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return [r for r in runs if starts_spark((r.get("spec") or {}).get("job") or {})]


def slot_holders(runs: Iterable[Mapping[str, Any]]) -> list[str]:
    """<namespace>/<name> of the Spark runs holding a slot now: submitted or running (pure)."""
    return sorted(
        f"{run['metadata']['namespace']}/{run['metadata']['name']}"
        for run in _spark(runs)
        if (run.get("status") or {}).get("phase") in HOLDING
    )


def queued_before(runs: Iterable[Mapping[str, Any]], run: str) -> list[str]:
    """<namespace>/<name> of the Pending Spark runs recorded before `run` (pure): they go
    first."""

    def key(r: Mapping[str, Any]) -> tuple[str, str]:
        meta = r["metadata"]
        return (str(meta.get("creationTimestamp") or ""), f"{meta['namespace']}/{meta['name']}")

    pending = sorted(
        (
            r
            for r in _spark(runs)
            if (r.get("status") or {}).get("phase", Phase.PENDING.value) == Phase.PENDING.value
        ),
        key=key,
    )
    names = [key(r)[1] for r in pending]
    return names[: names.index(run)] if run in names else names


def slot_admission(
    run: str, holders: list[str], slots: int, ahead: list[str] | None = None
) -> str | None:
    """None when `run` (<namespace>/<name>) may take a slot now (pure); else why it waits.
    `ahead` are the runs queued before it (queued_before)."""
    others = [h for h in holders if h != run]
    queue = [a for a in ahead or [] if a != run]
    if slots <= 0 or len(others) + len(queue) < slots:
        return None
    line = f" ({len(queue)} queued before it)" if queue else ""
    return (
        f"{WAITING_REASON}: the embedded platform runs {slots} Spark job(s) at once "
        f"(NIDC_LOCAL_RUN_SLOTS); busy: {', '.join(others)}{line}"
    )
