"""Where each of the demo's resources stands, as a live table (pure).

A resource is `ready` (Ready=True), `failed` (Degraded=True, or Ready=False with nothing in
progress: waiting will not fix it) or `waiting` (no status yet, or still progressing). The demo
waits until nothing is waiting, then prints the failures with their reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

READY, WAITING, FAILED = "ready", "waiting", "failed"


@dataclass(frozen=True)
class Standing:
    """One resource's line in the table."""

    resource: str
    state: str
    reason: str
    message: str


def condition(obj: dict[str, Any], kind: str) -> dict[str, Any]:
    found = next(
        (c for c in (obj.get("status") or {}).get("conditions", []) if c.get("type") == kind),
        None,
    )
    return found or {}


def standing_of(resource: str, obj: dict[str, Any] | None) -> Standing:
    """Where one resource stands (`obj` None: not found on the server)."""
    if obj is None:
        return Standing(resource, WAITING, "NotFound", "not on the server yet")
    generation = obj.get("metadata", {}).get("generation")
    observed = (obj.get("status") or {}).get("observedGeneration")
    ready, degraded = condition(obj, "Ready"), condition(obj, "Degraded")
    progressing = condition(obj, "Progressing")
    if not ready or (generation is not None and observed != generation):
        return Standing(resource, WAITING, "NoStatus", "no reconciler has written its status yet")
    if degraded.get("status") == "True":
        return Standing(resource, FAILED, degraded.get("reason", ""), degraded.get("message", ""))
    if ready.get("status") == "True":
        return Standing(resource, READY, ready.get("reason", ""), ready.get("message", ""))
    if progressing.get("status") == "True":
        return Standing(resource, WAITING, ready.get("reason", ""), progressing.get("message", ""))
    return Standing(resource, FAILED, ready.get("reason", ""), ready.get("message", ""))


def settled(standings: list[Standing]) -> bool:
    return all(s.state != WAITING for s in standings)


def format_table(standings: list[Standing], width: int = 120) -> str:
    """RESOURCE  STATE  REASON  MESSAGE, one line each, cut to `width` columns."""
    name_width = max([len(s.resource) for s in standings] + [8])
    reason_width = max([len(s.reason) for s in standings] + [6])
    lines = [f"{'RESOURCE':<{name_width}}  {'STATE':<7}  {'REASON':<{reason_width}}  MESSAGE"]
    for s in standings:
        line = f"{s.resource:<{name_width}}  {s.state:<7}  {s.reason:<{reason_width}}  {s.message}"
        lines.append(line[:width])
    counts = {state: sum(s.state == state for s in standings) for state in (READY, WAITING, FAILED)}
    lines.append(", ".join(f"{n} {state}" for state, n in counts.items()))
    return "\n".join(lines)


def changed_lines(before: list[Standing], now: list[Standing], elapsed: float) -> list[str]:
    """For a log (not a terminal): one line per resource whose state or reason changed."""
    was = {s.resource: (s.state, s.reason) for s in before}
    return [
        f"[{elapsed:5.0f} s] {s.resource}: {s.state} {s.reason}".rstrip()
        for s in now
        if was.get(s.resource) != (s.state, s.reason)
    ]
