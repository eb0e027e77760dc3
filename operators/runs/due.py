"""When a live run next needs a step of its own, and what a watch event tells of its job (pure).

The runs' sweep (operators/pipelinerun/register.py) steps a run when its driver Job or pod
reports an outcome (Kubernetes runner), and otherwise only at the times computed here: a
Pending run at once or when its backoff ends, a submitted or running one at the end of the
submit grace or its timeout, and in between every `poll` seconds as a safety net (the local
runner has no watch, so there the poll is what drives it).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from nidc.api.pipeline_run import Phase
from operators.runs.state_machine import SUBMIT_GRACE, TERMINAL, Observation, RunStatus

LOCAL_POLL = dt.timedelta(seconds=2)
# Job and pod events drive runs on a cluster; a poll LISTs Jobs and pods, O(runs) on the API
# server, so it only backs the watch up (a submitted run is looked at when its grace ends).
KUBERNETES_POLL = dt.timedelta(seconds=120)


@dataclass(frozen=True)
class JobReport:
    """What a watch event said of one attempt's job: the observation, for that attempt only."""

    attempt: int
    observation: Observation


def next_step_at(
    status: RunStatus, timeout: dt.timedelta, poll: dt.timedelta, now: dt.datetime
) -> dt.datetime | None:
    """When the run needs its next step without any event; None once it is finished."""
    if status.phase in TERMINAL:
        return None
    if status.phase is Phase.PENDING:
        return status.next_attempt_at or now
    deadline = SUBMIT_GRACE if status.phase is Phase.SUBMITTED else timeout
    if status.submitted_at is None:
        return now
    # One second past the deadline: the machine compares with `>`.
    return min(status.submitted_at + deadline + dt.timedelta(seconds=1), now + poll)


def report_for(status: RunStatus, report: JobReport | None) -> Observation | None:
    """The reported observation if it is of the run's current attempt, else None (observe)."""
    if report is None or report.attempt != status.attempts:
        return None
    return report.observation
