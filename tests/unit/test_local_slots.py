"""The embedded platform's limit on Spark jobs at once (operators/runs/local_slots.py)."""

from __future__ import annotations

from operators.runs.local_slots import WAITING_REASON, slot_admission, slot_holders


def run(namespace: str, name: str, phase: str | None) -> dict:
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
