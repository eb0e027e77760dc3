"""One test per transition of the run state machine (operators/runs/state_machine.py)."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from nidc.api.pipeline_run import Phase
from operators.runs.naming import run_name
from operators.runs.state_machine import (
    SUBMIT_GRACE,
    Action,
    Limits,
    Observation,
    Observed,
    RunStatus,
    backoff,
    cancel,
    decide,
)

pytestmark = pytest.mark.unit

T0 = dt.datetime(2026, 11, 25, 8, 0, tzinfo=dt.UTC)
LIMITS = Limits(max_attempts=3, timeout=dt.timedelta(minutes=30))
ABSENT, RUNNING = Observation(Observed.ABSENT), Observation(Observed.RUNNING)
SUCCEEDED = Observation(Observed.SUCCEEDED, result={"tableVersion": 4, "rows": 10})
FAILED = Observation(Observed.FAILED, reason="AnalysisException: table not found")


def submitted(attempts: int = 1) -> RunStatus:
    return RunStatus(Phase.SUBMITTED, attempts=attempts, submitted_at=T0, started_at=T0)


def test_pending_submits_and_counts_the_attempt() -> None:
    decision = decide(RunStatus(), ABSENT, LIMITS, T0)
    assert decision.action is Action.SUBMIT
    assert decision.status.phase is Phase.SUBMITTED
    assert decision.status.attempts == 1


def test_pending_waits_for_its_backoff() -> None:
    waiting = RunStatus(Phase.PENDING, attempts=1, next_attempt_at=T0 + dt.timedelta(seconds=5))
    assert decide(waiting, ABSENT, LIMITS, T0).action is Action.NONE
    later = decide(waiting, ABSENT, LIMITS, T0 + dt.timedelta(seconds=6))
    assert later.action is Action.SUBMIT
    assert later.status.attempts == 2


def test_submitted_becomes_running() -> None:
    assert decide(submitted(), RUNNING, LIMITS, T0).status.phase is Phase.RUNNING


def test_submitted_job_not_seen_yet_is_submitted_again_within_grace() -> None:
    decision = decide(submitted(), ABSENT, LIMITS, T0 + dt.timedelta(seconds=5))
    assert decision.action is Action.SUBMIT
    assert decision.status.attempts == 1  # adopting is not a new attempt


def test_submitted_job_never_seen_fails_the_attempt_after_grace() -> None:
    decision = decide(submitted(), ABSENT, LIMITS, T0 + SUBMIT_GRACE + dt.timedelta(seconds=1))
    assert decision.status.phase is Phase.PENDING
    assert "never appeared" in decision.status.reason


def test_running_succeeds_with_the_result() -> None:
    decision = decide(replace(submitted(), phase=Phase.RUNNING), SUCCEEDED, LIMITS, T0)
    assert decision.status.phase is Phase.SUCCEEDED
    assert decision.status.result == {"tableVersion": 4, "rows": 10}
    assert decision.status.finished_at == T0


def test_fast_job_succeeds_straight_from_submitted() -> None:
    assert decide(submitted(), SUCCEEDED, LIMITS, T0).status.phase is Phase.SUCCEEDED


def test_failed_attempt_retries_with_backoff() -> None:
    decision = decide(replace(submitted(), phase=Phase.RUNNING), FAILED, LIMITS, T0)
    assert decision.status.phase is Phase.PENDING
    assert decision.status.next_attempt_at == T0 + backoff(1)
    assert "table not found" in decision.status.reason


def test_last_attempt_failure_is_final_with_the_reason() -> None:
    decision = decide(replace(submitted(3), phase=Phase.RUNNING), FAILED, LIMITS, T0)
    assert decision.status.phase is Phase.FAILED
    assert "attempt 3 of 3" in decision.status.reason


def test_job_vanishing_while_running_fails_the_attempt() -> None:
    decision = decide(replace(submitted(), phase=Phase.RUNNING), ABSENT, LIMITS, T0)
    assert decision.status.phase is Phase.PENDING
    assert "disappeared" in decision.status.reason


def test_timeout_fails_with_a_reason_and_cancels_the_job() -> None:
    late = T0 + LIMITS.timeout + dt.timedelta(seconds=1)
    decision = decide(replace(submitted(3), phase=Phase.RUNNING), RUNNING, LIMITS, late)
    assert decision.status.phase is Phase.FAILED
    assert "timed out" in decision.status.reason
    assert decision.action is Action.CANCEL


def test_terminal_states_stay() -> None:
    for phase in (Phase.SUCCEEDED, Phase.FAILED, Phase.CANCELLED):
        decision = decide(RunStatus(phase, attempts=1), RUNNING, LIMITS, T0)
        assert decision.status.phase is phase
        assert decision.action is Action.NONE


def test_cancel_live_run_but_not_a_finished_one() -> None:
    decision = cancel(replace(submitted(), phase=Phase.RUNNING), T0, "spec changed")
    assert decision.status.phase is Phase.CANCELLED
    assert decision.action is Action.CANCEL
    assert cancel(RunStatus(Phase.SUCCEEDED), T0, "x").action is Action.NONE


def test_backoff_doubles_and_is_capped() -> None:
    assert [backoff(n).seconds for n in (1, 2, 3)] == [5, 10, 20]
    assert backoff(30).seconds == 300


def test_run_names_are_deterministic_and_short() -> None:
    a = run_name("spindle-health", "uid-1", 3, 0)
    assert a == run_name("spindle-health", "uid-1", 3, 0)
    assert a != run_name("spindle-health", "uid-2", 3, 0)
    assert a != run_name("spindle-health", "uid-1", 3, 1)
    long = run_name("x" * 80, "uid", 12, 345)
    assert len(long) <= 63
    assert a.startswith("spindle-health-g3-0-")
