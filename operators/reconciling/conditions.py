"""Status conditions (Ready, Progressing, Degraded) computed as plain data.

A condition's lastTransitionTime moves only when its status really changes, so repeated
reconciles with the same outcome leave status untouched (stackabletech/operator-rs style).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

READY, PROGRESSING, DEGRADED = "Ready", "Progressing", "Degraded"


def now_rfc3339() -> str:
    """The current time as Kubernetes writes it (seconds, UTC, Z)."""
    return dt.datetime.now(dt.UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Problem:
    """Why a resource cannot be reconciled as asked: `reason` is the condition's reason (a
    CamelCase word), `message` names the field or the thing to fix."""

    reason: str
    message: str


@dataclass(frozen=True)
class Outcome:
    """What one reconcile concluded: ready or not, progressing or not, and why."""

    ready: bool
    reason: str
    message: str
    progressing: bool = False
    degraded: bool = False


def build_condition(
    previous: list[dict[str, Any]],
    type_: str,
    status: bool,
    reason: str,
    message: str,
    generation: int,
    now: str,
) -> dict[str, Any]:
    """One condition; keeps the old transition time when the status did not change."""
    value = "True" if status else "False"
    old = next((c for c in previous if c.get("type") == type_), None)
    transition = old["lastTransitionTime"] if old and old.get("status") == value else now
    return {
        "type": type_,
        "status": value,
        "reason": reason,
        "message": message,
        "lastTransitionTime": transition,
        "observedGeneration": generation,
    }


def problem_outcome(problems: list[Problem]) -> Outcome:
    """Not ready and degraded, for the first problem's reason, naming every problem."""
    return Outcome(False, problems[0].reason, "; ".join(p.message for p in problems), degraded=True)


def rfc3339(moment: dt.datetime) -> str:
    """A time as Kubernetes writes it (seconds, UTC, Z)."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def build_conditions(
    previous: list[dict[str, Any]], outcome: Outcome, generation: int, now: str | None = None
) -> list[dict[str, Any]]:
    """The fixed condition set for an outcome (`now`: the clock, passed in by pure callers)."""
    stamp = now or now_rfc3339()
    return [
        build_condition(
            previous, READY, outcome.ready, outcome.reason, outcome.message, generation, stamp
        ),
        build_condition(
            previous,
            PROGRESSING,
            outcome.progressing,
            outcome.reason if outcome.progressing else "Idle",
            outcome.message if outcome.progressing else "Nothing in progress.",
            generation,
            stamp,
        ),
        build_condition(
            previous,
            DEGRADED,
            outcome.degraded,
            outcome.reason if outcome.degraded else "AsExpected",
            outcome.message if outcome.degraded else "No problem found.",
            generation,
            stamp,
        ),
    ]


def describe_invalid(error: ValidationError) -> str:
    """`spec.field: message` of the first thing wrong with a body (pure)."""
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "object"
    return f"{where}: {first['msg']}"


def invalid_spec_status(
    body: Mapping[str, Any], error: ValidationError, now: dt.datetime
) -> dict[str, Any]:
    """The status of an object whose body does not parse as its kind (pure): InvalidSpec,
    naming the field. Admission refuses such objects; this covers what got past it."""
    meta = body.get("metadata") or {}
    generation = int(meta.get("generation") or 1)
    previous = list((body.get("status") or {}).get("conditions") or [])
    outcome = Outcome(False, "InvalidSpec", describe_invalid(error), degraded=True)
    return {
        "observedGeneration": generation,
        "conditions": build_conditions(previous, outcome, generation, rfc3339(now)),
    }
