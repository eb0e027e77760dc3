"""The embedded platform's limit on Spark jobs at once (operators/runs/local_slots.py)."""

from __future__ import annotations

from typing import Any

from nidc.api.job_specs import starts_spark
from operators.runs.local_slots import (
    WAITING_REASON,
    queued_before,
    slot_admission,
    slot_holders,
)


def run(namespace: str, name: str, phase: str | None) -> dict[str, Any]:
    return {"metadata": {"namespace": namespace, "name": name}, "status": {"phase": phase}}


def test_holders_are_the_submitted_and_running_runs_of_every_namespace() -> None:
    runs = [
        run("a", "r1", "Running"),
        run("b", "r2", "Submitted"),
        run("a", "r3", "Pending"),
        run("a", "r4", "Succeeded"),
        {"metadata": {"namespace": "a", "name": "r5"}},
    ]
    assert slot_holders(runs) == ["a/r1", "b/r2"]


def test_a_run_waits_only_when_the_others_fill_every_slot() -> None:
    assert slot_admission("a/new", [], 1) is None
    assert slot_admission("a/new", ["a/r1"], 2) is None
    waiting = slot_admission("a/new", ["a/r1", "b/r2"], 2)
    assert waiting is not None and waiting.startswith(WAITING_REASON)
    assert "a/r1, b/r2" in waiting


def test_a_run_already_holding_a_slot_is_not_counted_against_itself() -> None:
    assert slot_admission("a/r1", ["a/r1", "b/r2"], 2) is None


def test_no_limit_when_slots_is_zero() -> None:
    assert slot_admission("a/new", [f"a/r{i}" for i in range(50)], 0) is None


def queued(
    namespace: str, name: str, created: str, phase: str | None = "Pending"
) -> dict[str, Any]:
    body = run(namespace, name, phase)
    body["metadata"]["creationTimestamp"] = created
    return body


def test_slots_go_first_come_first_served() -> None:
    runs = [
        queued("a", "device-2", "2026-11-30T10:00:09Z"),
        queued("a", "transform", "2026-11-30T10:00:03Z"),
        queued("b", "busy", "2026-11-30T09:59:00Z", "Running"),
        queued("a", "device-1", "2026-11-30T10:00:01Z"),
    ]
    assert queued_before(runs, "a/device-1") == []
    assert queued_before(runs, "a/device-2") == ["a/device-1", "a/transform"]
    holders = slot_holders(runs)
    # Two slots: one is busy; the oldest waiting run takes the other, a newer one waits.
    assert slot_admission("a/device-1", holders, 2, queued_before(runs, "a/device-1")) is None
    waiting = slot_admission("a/device-2", holders, 2, queued_before(runs, "a/device-2"))
    assert waiting is not None and "2 queued before it" in waiting


def test_a_run_with_no_status_yet_counts_as_queued() -> None:
    runs = [{"metadata": {"namespace": "a", "name": "new", "creationTimestamp": "t1"}}]
    assert queued_before([*runs, queued("a", "later", "t2")], "a/later") == ["a/new"]


def test_runs_that_start_no_jvm_neither_hold_nor_queue_for_a_slot() -> None:
    def job(body: dict[str, Any], **spec: str) -> dict[str, Any]:
        return {**body, "spec": {"job": spec}}

    runs = [
        job(run("a", "classify", "Running"), job="classify"),
        job(run("a", "copy", "Submitted"), job="replicate"),
        job(run("a", "device", "Running"), job="ingest", engine="native"),
        job(run("a", "files", "Running"), job="ingest", engine="spark"),
        job(queued("a", "transform", "t1"), job="transform"),
        job(queued("a", "classify-2", "t0"), job="classify"),
        job(queued("a", "later", "t2"), job="quality"),
    ]
    assert slot_holders(runs) == ["a/files"]
    assert queued_before(runs, "a/later") == ["a/transform"]
    assert starts_spark({"job": "ingest", "engine": "native"}) is False
    assert starts_spark({"job": "ingest", "engine": "spark"}) is True
    assert starts_spark({"job": "governed-copy"}) is True
