"""The operator's metrics: reconcile durations by kind and outcome, run transitions, rows, and
each product's quality score, gate and data age (so an alert can fire on a stale product or a
closed gate).

Exported over OTLP by nidc.telemetry.metrics; on the embedded platform the trace backend's
collector turns them into a Prometheus endpoint (`nidc local env`: metrics_url).
"""

from __future__ import annotations

import datetime as dt
import functools
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from opentelemetry.metrics import Observation

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


@dataclass(frozen=True)
class ProductHealth:
    """What a DataProduct's status says about its quality and freshness, for the gauges."""

    quality_score: float | None
    gate_passed: bool | None
    last_success: dt.datetime | None
    grade: int | None
    recorded: float  # time.monotonic() when the product was last reconciled


# (namespace, name) -> health, written by the product reconciler, read by the gauges' callbacks.
# A product reconciled by no pass for PRODUCT_STALE_SECONDS (the sweep looks at each one at
# least every five minutes) has been deleted: its series stop.
PRODUCT_HEALTH: dict[tuple[str, str], ProductHealth] = {}
PRODUCT_STALE_SECONDS = 900.0


def record_product_health(namespace: str, name: str, status: dict[str, Any]) -> None:
    """Keep the product's latest quality and freshness for the gauges (called per reconcile)."""
    quality = status.get("quality") or {}
    last_run = status.get("lastRun") or {}
    finished = last_run.get("finishedAt") if last_run.get("phase") == "Succeeded" else None
    previous = PRODUCT_HEALTH.get((namespace, name))
    last_success = (
        dt.datetime.fromisoformat(finished.replace("Z", "+00:00"))
        if finished
        else (previous.last_success if previous else None)
    )
    failing = quality.get("blockingFailures")
    PRODUCT_HEALTH[(namespace, name)] = ProductHealth(
        quality_score=quality.get("score"),
        gate_passed=None if failing is None else not failing,
        last_success=last_success,
        grade=status.get("grade"),
        recorded=time.monotonic(),
    )


def _product_observations(
    value: Callable[[ProductHealth], float | None],
) -> Iterable[Observation]:
    now = time.monotonic()
    for key, health in list(PRODUCT_HEALTH.items()):
        if now - health.recorded > PRODUCT_STALE_SECONDS:
            PRODUCT_HEALTH.pop(key, None)
            continue
        measured = value(health)
        if measured is not None:
            namespace, name = key
            labels = {"namespace": namespace, "product": name, "grade": str(health.grade or "")}
            yield Observation(measured, labels)


def _age(health: ProductHealth) -> float | None:
    if health.last_success is None:
        return None
    return (dt.datetime.now(dt.UTC) - health.last_success).total_seconds()


METER.create_observable_gauge(
    "nidc.product.quality.score",
    callbacks=[lambda _: _product_observations(lambda h: h.quality_score)],
    description="Share of a product's quality checks its newest checked version passed.",
)
METER.create_observable_gauge(
    "nidc.product.quality.gate",
    callbacks=[
        lambda _: _product_observations(
            lambda h: None if h.gate_passed is None else float(h.gate_passed)
        )
    ],
    description="1 while the product's newest checked version passes its blocking rules, else 0.",
)
METER.create_observable_gauge(
    "nidc.product.data.age",
    unit="s",
    callbacks=[lambda _: _product_observations(_age)],
    description="Seconds since the product's last successful run finished (its freshness).",
)
