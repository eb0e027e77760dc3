"""The sweeps that replace kopf's per-object timers (operators/sweep, operators/runs/due.py):
due times, the index, what watch events report, and the loop's retries, without a cluster."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
from types import SimpleNamespace
from typing import Any

import pytest

from nidc.api.pipeline_run import Phase
from operators.dataproduct.due import INPUT_POLL, RESYNC, next_due
from operators.reconciling.errors import NotReadyError
from operators.replicas.liveness import ACTIVE_WITHIN_SECONDS, Heartbeat, watch_is_live
from operators.runs.due import KUBERNETES_POLL, JobReport, next_step_at, report_for
from operators.runs.kubernetes_runner import report_from_job, report_from_pod
from operators.runs.state_machine import SUBMIT_GRACE, Observation, Observed, RunStatus
from operators.sweep.index import DueIndex
from operators.sweep.level import index_event
from operators.sweep.loop import BUG_RETRY_SECONDS, Sweep, Sweeps

pytestmark = pytest.mark.unit

T0 = dt.datetime(2026, 11, 30, 4, 0, tzinfo=dt.UTC)
TIMEOUT = dt.timedelta(hours=1)
KEY = ("steel-plant", "line-hourly")


# --- the index -----------------------------------------------------------------------------


def test_index_hands_out_due_keys_earliest_first_and_never_twice() -> None:
    index = DueIndex()
    index.schedule(("a", "late"), 20)
    index.schedule(("a", "early"), 10)
    index.schedule(("a", "future"), 100)
    assert [key for key, _ in index.take_due(now=50, limit=10)] == [("a", "early"), ("a", "late")]
    # Busy keys are not handed out again, even when woken meanwhile.
    index.schedule(("a", "early"), 0, hint="news")
    assert index.take_due(now=50, limit=10) == []
    assert index.knows(("a", "early"))
    index.done(("a", "early"), next_at=90)
    # The wake-up that came in during the step wins over the step's later due time.
    assert index.take_due(now=50, limit=10) == [(("a", "early"), "news")]


def test_index_never_postpones_an_earlier_due_time() -> None:
    index = DueIndex()
    index.schedule(KEY, 10)
    index.schedule(KEY, 60)  # a late watch event of the same object
    assert index.next_due() == 10
    index.forget(KEY)
    assert index.next_due() is None and not index.knows(KEY)


def test_index_limit_bounds_one_take() -> None:
    index = DueIndex()
    for i in range(5):
        index.schedule(("a", str(i)), i)
    assert len(index.take_due(now=10, limit=2)) == 2
    assert len(index) == 3


# --- when runs are due -----------------------------------------------------------------------


def test_a_new_run_is_due_at_once_and_a_backing_off_one_when_its_backoff_ends() -> None:
    assert next_step_at(RunStatus(), TIMEOUT, KUBERNETES_POLL, T0) == T0
    later = T0 + dt.timedelta(seconds=20)
    backing_off = RunStatus(phase=Phase.PENDING, attempts=1, next_attempt_at=later)
    assert next_step_at(backing_off, TIMEOUT, KUBERNETES_POLL, T0) == later


def test_a_submitted_run_is_due_just_past_its_grace_a_running_one_past_its_timeout() -> None:
    submitted = RunStatus(phase=Phase.SUBMITTED, attempts=1, submitted_at=T0)
    due = next_step_at(submitted, TIMEOUT, KUBERNETES_POLL, T0)
    assert due == T0 + SUBMIT_GRACE + dt.timedelta(seconds=1)
    running = RunStatus(phase=Phase.RUNNING, attempts=1, submitted_at=T0)
    short = dt.timedelta(seconds=30)
    assert next_step_at(running, short, KUBERNETES_POLL, T0) == T0 + short + dt.timedelta(seconds=1)
    # The poll is the safety net in between (and what drives the local runner).
    assert next_step_at(running, TIMEOUT, dt.timedelta(seconds=2), T0) == T0 + dt.timedelta(
        seconds=2
    )


@pytest.mark.parametrize("phase", [Phase.SUCCEEDED, Phase.FAILED, Phase.CANCELLED])
def test_a_finished_run_is_never_due(phase: Phase) -> None:
    assert next_step_at(RunStatus(phase=phase), TIMEOUT, KUBERNETES_POLL, T0) is None


def test_a_report_counts_only_for_the_runs_current_attempt() -> None:
    seen = Observation(Observed.SUCCEEDED, result={"rows": 3})
    status = RunStatus(phase=Phase.SUBMITTED, attempts=2, submitted_at=T0)
    assert report_for(status, JobReport(2, seen)) == seen
    assert report_for(status, JobReport(1, seen)) is None
    assert report_for(status, None) is None


# --- what driver pods and Jobs report --------------------------------------------------------


def driver_pod(phase: str, message: str = "", attempt: str = "1") -> dict[str, Any]:
    terminated = {"terminated": {"message": message, "exitCode": 0}} if message else {}
    return {
        "metadata": {
            "name": "line-hourly-g1-0-abc-a1-x",
            "labels": {"nidc.io/run": "line-hourly-g1-0-abc", "nidc.io/attempt": attempt},
        },
        "status": {
            "phase": phase,
            "containerStatuses": [{"name": "driver", "state": terminated}],
        },
    }


def test_an_ended_driver_pod_reports_the_result_of_its_attempt() -> None:
    result = {"result": {"tableVersion": 7, "rows": 42}}
    report = report_from_pod(driver_pod("Succeeded", json.dumps(result), attempt="2"))
    assert report == JobReport(2, Observation(Observed.SUCCEEDED, result=result["result"]))
    failure = {"failure": {"reason": "AnalysisException: no such column"}}
    failed = report_from_pod(driver_pod("Failed", json.dumps(failure)))
    assert failed is not None
    assert failed.observation == Observation(
        Observed.FAILED, reason="AnalysisException: no such column"
    )


@pytest.mark.parametrize("phase", ["Pending", "Running", "Unknown"])
def test_a_driver_pod_still_going_reports_nothing(phase: str) -> None:
    assert report_from_pod(driver_pod(phase)) is None


def test_a_failed_or_deleted_job_reports_and_a_complete_one_leaves_it_to_the_pod() -> None:
    job = {
        "metadata": {"name": "r-a1", "labels": {"nidc.io/run": "r", "nidc.io/attempt": "1"}},
        "status": {"conditions": [{"type": "Failed", "status": "True", "reason": "Deadline"}]},
    }
    failed = report_from_job(job, deleted=False)
    assert failed is not None and failed.observation.state is Observed.FAILED
    assert "Deadline" in failed.observation.reason
    gone = report_from_job(job, deleted=True)
    assert gone == JobReport(1, Observation(Observed.ABSENT))
    job["status"] = {"conditions": [{"type": "Complete", "status": "True"}]}
    assert report_from_job(job, deleted=False) is None


# --- when products are due -------------------------------------------------------------------


def ready(reason: str) -> dict[str, Any]:
    return {"conditions": [{"type": "Ready", "status": "False", "reason": reason}]}


def test_a_product_waiting_for_input_looks_again_soon_a_ready_one_at_the_resync() -> None:
    assert next_due({}, ready("WaitingForInput"), T0) == T0 + INPUT_POLL
    assert next_due({}, ready("InputNotFound"), T0) == T0 + INPUT_POLL
    assert next_due({}, ready("Succeeded"), T0) == T0 + RESYNC


def test_a_scheduled_product_is_due_at_its_cron_tick() -> None:
    status = {**ready("Succeeded"), "nextRun": "2026-11-30T04:01:00Z"}
    assert next_due({}, status, T0) == T0 + dt.timedelta(minutes=1)
    overdue = {**ready("Succeeded"), "nextRun": "2026-11-30T03:00:00Z"}
    assert next_due({}, overdue, T0) == T0


def test_watch_events_feed_the_index_and_a_deletion_empties_it() -> None:
    sweep = Sweep("DataProduct", lambda key, hint: None)
    seen = {**ready("Succeeded"), "observedGeneration": 2}
    body = {"metadata": {"namespace": KEY[0], "name": KEY[1], "generation": 2}, "status": seen}
    index_event(sweep, {"type": "MODIFIED"}, body, next_due, now=T0)
    assert sweep.index.next_due() == (T0 + RESYNC).timestamp()
    index_event(sweep, {"type": "DELETED"}, body, next_due, now=T0)
    assert len(sweep.index) == 0


@pytest.mark.parametrize(
    ("event", "generation", "status"),
    [
        (None, 2, {**ready("Succeeded"), "observedGeneration": 2}),  # a start or a resume
        ("ADDED", 1, {}),  # a new object
        ("MODIFIED", 3, {**ready("Succeeded"), "observedGeneration": 2}),  # a changed spec
        # No top-level observedGeneration: the Ready condition's says which spec it saw.
        ("MODIFIED", 3, {"conditions": [{"type": "Ready", "observedGeneration": 2}]}),
    ],
)
def test_a_start_a_new_object_and_a_changed_spec_are_due_at_once(
    event: str | None, generation: int, status: dict[str, Any]
) -> None:
    sweep = Sweep("DataProduct", lambda key, hint: None)
    body = {"metadata": {"namespace": KEY[0], "name": KEY[1], "generation": generation},
            "status": status}  # fmt: skip
    before = time.time()
    index_event(sweep, {"type": event}, body, next_due, now=T0)
    due = sweep.index.next_due()
    assert due is not None and before <= due <= time.time()


# --- liveness gate ---------------------------------------------------------------------------


def test_a_replica_acts_only_while_its_own_heartbeat_comes_back() -> None:
    heartbeat = Heartbeat(identity="nidc-operator-0", started_at=T0)
    assert not watch_is_live(heartbeat, T0)
    heartbeat.seen_at = T0
    assert watch_is_live(heartbeat, T0 + dt.timedelta(seconds=ACTIVE_WITHIN_SECONDS))
    assert not watch_is_live(heartbeat, T0 + dt.timedelta(seconds=ACTIVE_WITHIN_SECONDS + 1))


# --- the loop --------------------------------------------------------------------------------


def test_an_expected_transient_state_is_one_event_per_reason_and_a_quiet_retry(
    caplog: pytest.LogCaptureFixture,
) -> None:
    reported: list[str] = []

    def step(key: Any, hint: Any) -> float | None:
        raise NotReadyError("CredentialsNotReady", "no S3 credentials for tenant x yet", 5)

    sweep = Sweep("PipelineRun", step, report=lambda key, state: reported.append(state.reason))
    before = time.time()
    first = sweep._run_step(KEY, None)
    second = sweep._run_step(KEY, None)
    assert first is not None and second is not None and first >= before + 5
    assert reported == ["CredentialsNotReady"]
    assert not any(record.exc_info for record in caplog.records), "no traceback"


def test_a_bug_is_logged_with_its_traceback_and_retried_later(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def step(key: Any, hint: Any) -> float | None:
        raise KeyError("spec")

    before = time.time()
    retry = Sweep("DataProduct", step)._run_step(KEY, None)
    assert retry is not None and retry >= before + BUG_RETRY_SECONDS
    assert any(record.exc_info for record in caplog.records)


def test_the_loop_steps_what_is_due_and_what_is_woken_and_only_while_active() -> None:
    stepped: list[tuple[Any, Any]] = []
    active = {"now": False}

    def step(key: Any, hint: Any) -> float | None:
        stepped.append((key, hint))
        return None

    async def scenario() -> None:
        sweep = Sweep("PipelineRun", step)
        sweeps = Sweeps()
        sweeps.add(sweep)
        task = asyncio.create_task(sweep.run(None, lambda: active["now"]))
        await asyncio.sleep(0.05)
        sweeps.wake("PipelineRun", "ns", "a")
        sweeps.wake("DataProduct", "ns", "b")  # no such sweep here: nothing happens
        sweep.wake(("ns", "later"), at=time.time() + 3600)
        await asyncio.sleep(0.3)
        assert stepped == []  # paused (standby): the work waits
        active["now"] = True
        sweep.wake(("ns", "c"), hint="pod ended")
        for _ in range(50):
            if len(stepped) == 2:
                break
            await asyncio.sleep(0.05)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    asyncio.run(scenario())
    assert sorted(stepped, key=str) == [(("ns", "a"), None), (("ns", "c"), "pod ended")]


def test_a_full_loop_takes_the_next_keys_as_soon_as_steps_end(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With every slot busy the loop naps; a step that ends (even one needing nothing more)
    must wake it, or the sweep runs at one batch per nap."""
    monkeypatch.setattr("operators.sweep.loop.MAX_NAP_SECONDS", 60.0)
    stepped: list[Any] = []

    async def scenario() -> None:
        sweep = Sweep("PipelineRun", lambda key, hint: stepped.append(key), concurrency=2)
        task = asyncio.create_task(sweep.run(None, lambda: True))
        await asyncio.sleep(0.05)
        for i in range(10):
            sweep.wake(("ns", str(i)))
        for _ in range(100):
            if len(stepped) == 10:
                break
            await asyncio.sleep(0.05)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    asyncio.run(scenario())
    assert len(stepped) == 10


def _step_with(
    monkeypatch: pytest.MonkeyPatch, reads: list[dict[str, Any] | None], error: Exception
) -> Any:
    """A level sweep's step whose reconcile raises `error`; the API reads answer `reads` in turn
    (the object before the pass, then the object after the failure)."""
    import operators.sweep.level as level

    answers = iter(reads)
    monkeypatch.setattr(level, "get", lambda *args: next(answers))

    def reconcile(body: Any, context: Any, now: dt.datetime) -> Any:
        raise error

    due = level.every(dt.timedelta(minutes=1))
    context: Any = SimpleNamespace(api=None)  # the step reads the API only through `get`
    return level.level_sweep("Tenant", context, reconcile, due, cluster_scoped=True).step


def test_a_pass_that_fails_because_its_object_was_deleted_meanwhile_is_dropped_quietly(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    live = {"metadata": {"name": "t1", "generation": 1}}
    deleting = {"metadata": {"name": "t1", "generation": 1, "deletionTimestamp": "2026-12-01"}}
    for after in (deleting, None):
        step = _step_with(monkeypatch, [live, after], RuntimeError("canned policy does not exist"))
        assert step(("", "t1"), None) is None
    assert not any(record.exc_info for record in caplog.records), "no traceback"


def test_a_pass_that_fails_on_a_live_object_still_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    live = {"metadata": {"name": "t1", "generation": 1}}
    step = _step_with(monkeypatch, [live, live], RuntimeError("a bug"))
    with pytest.raises(RuntimeError, match="a bug"):
        step(("", "t1"), None)
