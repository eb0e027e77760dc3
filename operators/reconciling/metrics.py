"""The operator's metrics: reconcile durations by kind and outcome, run transitions, rows.

Exported over OTLP by nidc.telemetry.metrics; on the embedded platform the trace backend's
collector turns them into a Prometheus endpoint (`nidc local env`: metrics_url).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any, TypeVar

from nidc.telemetry.metrics import meter
from operators.reconciling.errors import is_unavailable

Handler = TypeVar("Handler", bound=Callable[..., Any])

METER = meter("nidc.operator")
RECONCILE_DURATION = METER.create_histogram(
    "nidc.reconcile.duration",
    unit="s",
    description="Time one reconcile of a resource took, by kind and outcome.",
)
RUN_TRANSITIONS = METER.create_counter(
    "nidc.run.transitions",
    # The label is job_type, not job: Prometheus owns `job`.
    description="PipelineRun phase transitions, by job type and the phase entered.",
)
RUN_DURATION = METER.create_histogram(
    "nidc.run.duration",
    unit="s",
    description="Start to finish of runs that reached a terminal phase, by job and phase.",
)
RUN_ROWS = METER.create_counter(
    "nidc.run.rows", description="Rows in the tables written by succeeded runs, by job."
)


def outcome_of(error: BaseException | None) -> str:
    """The metric label for how a reconcile ended (pure): ok, unavailable or error."""
    if error is None:
        return "ok"
    return "unavailable" if is_unavailable(error) else "error"


def measured(kind: str) -> Callable[[Handler], Handler]:
    """Record the duration and outcome of every call of a reconcile handler."""

    def decorate(handler: Handler) -> Handler:
        @functools.wraps(handler)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            error: BaseException | None = None
            try:
                return handler(*args, **kwargs)
            except BaseException as raised:
                error = raised
                raise
            finally:
                RECONCILE_DURATION.record(
                    time.perf_counter() - started, {"kind": kind, "outcome": outcome_of(error)}
                )

        return wrapper  # type: ignore[return-value]

    return decorate


def record_run_transition(
    job: str, phase: str, duration_seconds: float | None, rows: int | None
) -> None:
    """Count a run entering `phase`; for terminal phases also its duration and rows."""
    RUN_TRANSITIONS.add(1, {"job_type": job, "phase": phase})
    if duration_seconds is not None:
        RUN_DURATION.record(duration_seconds, {"job_type": job, "phase": phase})
    if rows:
        RUN_ROWS.add(rows, {"job_type": job})
