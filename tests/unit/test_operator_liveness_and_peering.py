"""Liveness (watch silence), peering priorities and run-transition events, as pure functions."""

from __future__ import annotations

import datetime as dt
import json
import logging

import pytest
from opentelemetry.sdk.trace import TracerProvider

from nidc.api.pipeline_run import Phase
from nidc.telemetry.logs import TraceIdFilter
from operators.reconciling.metrics import outcome_of
from operators.replicas.liveness import Heartbeat, build_heartbeat_lease, watch_silence
from operators.replicas.peering import active_peer_above, priority_from_start
from operators.runs.state_machine import RunStatus
from operators.runs.transitions import describe_transition

pytestmark = pytest.mark.unit

T0 = dt.datetime(2026, 11, 25, 8, 0, tzinfo=dt.UTC)
MAX = dt.timedelta(seconds=60)


def test_watch_is_alive_until_the_allowed_silence_has_passed() -> None:
    beat = Heartbeat(identity="pod-a", started_at=T0)
    assert watch_silence(beat, T0 + dt.timedelta(seconds=59), MAX) == ""
    silence = watch_silence(beat, T0 + dt.timedelta(seconds=61), MAX)
    assert "no watch event for 61 s since start" in silence
    assert "no heartbeat could be sent" in silence


def test_a_heartbeat_seen_through_the_watch_resets_the_clock() -> None:
    beat = Heartbeat(identity="pod-a", started_at=T0)
    beat.sent_at = beat.seen_at = T0 + dt.timedelta(seconds=50)
    assert watch_silence(beat, T0 + dt.timedelta(seconds=100), MAX) == ""
    beat.sent_at = T0 + dt.timedelta(seconds=140)
    silence = watch_silence(beat, T0 + dt.timedelta(seconds=150), MAX)
    assert "100 s since the last heartbeat event" in silence
    assert "last heartbeat sent 10 s ago" in silence


def test_heartbeat_lease_is_named_per_replica_and_renewed() -> None:
    a, b = Heartbeat(identity="pod-a"), Heartbeat(identity="pod-b")
    assert a.lease_name != b.lease_name
    assert a.lease_name == Heartbeat(identity="pod-a").lease_name
    lease = build_heartbeat_lease(a, T0)
    assert lease["metadata"]["namespace"] == "nidc-system"
    assert lease["spec"]["renewTime"] == "2026-11-25T08:00:00.000000Z"
    assert lease["spec"]["holderIdentity"] == "pod-a"


def test_newest_replica_has_the_highest_priority() -> None:
    assert priority_from_start(T0 + dt.timedelta(milliseconds=1)) > priority_from_start(T0)


def test_standby_only_behind_a_live_peer_of_higher_priority() -> None:
    lastseen = T0.isoformat()
    peers = {
        "pod-a": {"priority": 5, "lifetime": 60, "lastseen": lastseen},
        "pod-b": {"priority": 9, "lifetime": 60, "lastseen": lastseen},
    }
    now = T0 + dt.timedelta(seconds=30)
    assert active_peer_above(peers, "pod-a", 5, now) == "pod-b"
    assert active_peer_above(peers, "pod-b", 9, now) is None
    # pod-b stopped renewing: after its lifetime it no longer counts.
    assert active_peer_above(peers, "pod-a", 5, T0 + dt.timedelta(seconds=61)) is None


@pytest.mark.parametrize(
    ("after", "reason", "warning"),
    [
        (RunStatus(Phase.SUBMITTED, attempts=1), "Submitted", False),
        (RunStatus(Phase.RUNNING, attempts=0), "Running", False),
        (RunStatus(Phase.SUCCEEDED, result={"rows": 3, "tableVersion": 2}), "Succeeded", False),
        (RunStatus(Phase.FAILED, attempts=3, reason="boom"), "Failed", True),
        (RunStatus(Phase.CANCELLED, reason="spec changed"), "Cancelled", True),
        (
            RunStatus(Phase.PENDING, attempts=1, reason="boom", next_attempt_at=T0),
            "Retrying",
            True,
        ),
    ],
)
def test_every_run_transition_has_an_event(after: RunStatus, reason: str, warning: bool) -> None:
    described = describe_transition(RunStatus(Phase.PENDING), after)
    assert described is not None
    assert described[0] == reason
    assert described[2] is warning


def test_no_event_when_phase_and_attempt_did_not_move() -> None:
    same = RunStatus(Phase.RUNNING, attempts=1)
    assert describe_transition(same, RunStatus(Phase.RUNNING, attempts=1, reason="x")) is None


def test_reconcile_outcome_labels() -> None:
    assert outcome_of(None) == "ok"
    assert outcome_of(ConnectionError()) == "unavailable"
    assert outcome_of(ValueError()) == "error"


def test_log_records_carry_the_current_trace_and_span_ids() -> None:
    from pythonjsonlogger.json import JsonFormatter

    tracer = TracerProvider().get_tracer("test")
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "hello", None, None)
    with tracer.start_as_current_span("reconcile") as span:
        TraceIdFilter().filter(record)
        context = span.get_span_context()
    line = json.loads(JsonFormatter().format(record))
    assert line["trace_id"] == format(context.trace_id, "032x")
    assert line["span_id"] == format(context.span_id, "016x")
