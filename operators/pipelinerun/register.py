"""kopf registration for PipelineRuns: a fast timer per live run; finished runs are left alone."""

from __future__ import annotations

import datetime as dt
from typing import Any

import kopf

from nidc.api.schema import GROUP, VERSION
from operators.clients.context import OperatorContext
from operators.pipelinerun import reconcile
from operators.reconciling.errors import retry_when_unavailable
from operators.reconciling.metrics import measured
from operators.runs.state_machine import TERMINAL

PLURAL = "pipelineruns"
TERMINAL_PHASES = {phase.value for phase in TERMINAL}


def is_live(status: kopf.Status, **_: Any) -> bool:
    return status.get("phase") not in TERMINAL_PHASES


# Every live run is polled; 3 s keeps a short job's latency low without a thousand runs costing
# more API calls than the server can take.
@kopf.timer(GROUP, VERSION, PLURAL, interval=3, when=is_live)
@retry_when_unavailable
@measured("PipelineRun")
def drive_run(body: kopf.Body, memo: kopf.Memo, **_: Any) -> None:
    context: OperatorContext = memo.context
    reconcile.step(dict(body), context, dt.datetime.now(dt.UTC))
