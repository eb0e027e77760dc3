"""Status conditions (Ready, Progressing, Degraded) computed as plain data.

A condition's lastTransitionTime moves only when its status really changes, so repeated
reconciles with the same outcome leave status untouched (stackabletech/operator-rs style).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

READY, PROGRESSING, DEGRADED = "Ready", "Progressing", "Degraded"


def now_rfc3339() -> str:
    """The current time as Kubernetes writes it (seconds, UTC, Z)."""
    return dt.datetime.now(dt.UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


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


def build_conditions(
    previous: list[dict[str, Any]], outcome: Outcome, generation: int, now: str | None = None
) -> list[dict[str, Any]]:
    """The fixed condition set for an outcome."""
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
