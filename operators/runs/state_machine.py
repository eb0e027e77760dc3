"""The run state machine, as pure functions (one per state), after Kubeflow's spark-operator.

                 submit ok                 runner: running           runner: succeeded
    Pending ───────────────► Submitted ───────────────────► Running ──────────────────► Succeeded
       ▲  │                     │  │                           │
       │  │ cancel              │  └── grace expired, runner   │ runner: failed / timeout
       │  ▼                     │      never saw it ──┐        ▼
       │ Cancelled              └── runner: failed ───┴──► (attempt failed)
       │                                                      │ attempts < max: back to Pending
       └──────────────────────────────────────────────────────┘ after a backoff; else Failed

Every decision takes the stored status, what the runner observed and the clock, and returns the
next status plus one action for the caller to carry out. Nothing here does I/O.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from nidc.api.pipeline_run import TERMINAL as TERMINAL  # the one set, re-exported
from nidc.api.pipeline_run import Phase

# The runner may not see a just-submitted job yet (process start, pod creation, cache lag).
SUBMIT_GRACE = dt.timedelta(seconds=60)
BACKOFF_BASE_SECONDS = 5
BACKOFF_MAX_SECONDS = 300


class Action(StrEnum):
    """What the caller must do after a decision."""

    NONE = "none"
    SUBMIT = "submit"
    CANCEL = "cancel"


class Observed(StrEnum):
    """What the runner sees of the job of a run."""

    ABSENT = "absent"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


@dataclass(frozen=True)
class Observation:
    """A runner's view of one run's job."""

    state: Observed
    reason: str = ""
    result: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RunStatus:
    """The parts of PipelineRun.status the machine reads and writes."""

    phase: Phase = Phase.PENDING
    attempts: int = 0
    submitted_at: dt.datetime | None = None
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    next_attempt_at: dt.datetime | None = None
    reason: str = ""
    result: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Limits:
    """From the run's spec."""

    max_attempts: int
    timeout: dt.timedelta


@dataclass(frozen=True)
class Decision:
    """The next status and the one action that goes with it."""

    status: RunStatus
    action: Action = Action.NONE


def backoff(attempts: int) -> dt.timedelta:
    """5 s, 10 s, 20 s, ... capped at 5 minutes."""
    return dt.timedelta(
        seconds=min(BACKOFF_BASE_SECONDS * 2 ** max(attempts - 1, 0), BACKOFF_MAX_SECONDS)
    )


def _attempt_failed(status: RunStatus, limits: Limits, reason: str, now: dt.datetime) -> Decision:
    if status.attempts >= limits.max_attempts:
        return Decision(
            replace(
                status,
                phase=Phase.FAILED,
                finished_at=now,
                reason=f"{reason} (attempt {status.attempts} of {limits.max_attempts})",
            )
        )
    return Decision(
        replace(
            status,
            phase=Phase.PENDING,
            reason=reason,
            submitted_at=None,
            next_attempt_at=now + backoff(status.attempts),
        )
    )


def on_pending(status: RunStatus, seen: Observation, limits: Limits, now: dt.datetime) -> Decision:
    if status.next_attempt_at and now < status.next_attempt_at:
        return Decision(status)
    # Record the attempt and the submission together; the caller submits after the status
    # write succeeded, and a runner adopts a job it already has under the same name.
    return Decision(
        replace(
            status,
            phase=Phase.SUBMITTED,
            attempts=status.attempts + 1,
            submitted_at=now,
            next_attempt_at=None,
            started_at=status.started_at or now,
        ),
        Action.SUBMIT,
    )


def on_submitted(
    status: RunStatus, seen: Observation, limits: Limits, now: dt.datetime
) -> Decision:
    if seen.state is Observed.RUNNING:
        return Decision(replace(status, phase=Phase.RUNNING))
    if seen.state is Observed.SUCCEEDED:
        return Decision(
            replace(status, phase=Phase.SUCCEEDED, finished_at=now, reason="", result=seen.result)
        )
    if seen.state is Observed.FAILED:
        return _attempt_failed(status, limits, seen.reason or "job failed", now)
    if status.submitted_at and now - status.submitted_at > SUBMIT_GRACE:
        return _attempt_failed(status, limits, "job never appeared after submission", now)
    # Still within the grace period: submit again (idempotent: adopts or creates).
    return Decision(status, Action.SUBMIT)


def on_running(status: RunStatus, seen: Observation, limits: Limits, now: dt.datetime) -> Decision:
    if seen.state is Observed.SUCCEEDED:
        return Decision(
            replace(status, phase=Phase.SUCCEEDED, finished_at=now, reason="", result=seen.result)
        )
    if seen.state is Observed.FAILED:
        return _attempt_failed(status, limits, seen.reason or "job failed", now)
    if seen.state is Observed.ABSENT:
        return _attempt_failed(status, limits, "job disappeared while running", now)
    if status.submitted_at and now - status.submitted_at > limits.timeout:
        failed = _attempt_failed(status, limits, f"timed out after {limits.timeout}", now)
        return Decision(failed.status, Action.CANCEL)
    return Decision(status)


def on_terminal(status: RunStatus, seen: Observation, limits: Limits, now: dt.datetime) -> Decision:
    return Decision(status)


HANDLERS = {
    Phase.PENDING: on_pending,
    Phase.SUBMITTED: on_submitted,
    Phase.RUNNING: on_running,
    Phase.SUCCEEDED: on_terminal,
    Phase.FAILED: on_terminal,
    Phase.CANCELLED: on_terminal,
}


def decide(status: RunStatus, seen: Observation, limits: Limits, now: dt.datetime) -> Decision:
    """One step of the machine."""
    return HANDLERS[status.phase](status, seen, limits, now)


def cancel(status: RunStatus, now: dt.datetime, reason: str) -> Decision:
    """Cancellation (a newer spec with concurrencyPolicy Replace), from any live state."""
    if status.phase in TERMINAL:
        return Decision(status)
    return Decision(
        replace(status, phase=Phase.CANCELLED, finished_at=now, reason=reason), Action.CANCEL
    )
