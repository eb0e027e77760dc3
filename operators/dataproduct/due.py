"""When a DataProduct is next due in its kind's sweep, from the status just computed (pure).

Its runs wake it when they finish (operators/pipelinerun), and spec changes reach kopf's update
handler, so by itself a product is only due for a cron tick, to look again at inputs it waits
for, or for a slow resync that backs everything else up, and when a waiver expires (the quality gate
closes again then, not at the next resync).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

INPUT_POLL = dt.timedelta(seconds=20)
RESYNC = dt.timedelta(minutes=5)
WAITING_REASONS = {"WaitingForInput", "InputNotFound"}
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def _ready_reason(status: dict[str, Any]) -> str:
    for condition in status.get("conditions") or []:
        if condition.get("type") == "Ready":
            return str(condition.get("reason") or "")
    return ""


def next_due(product: dict[str, Any], status: dict[str, Any], now: dt.datetime) -> dt.datetime:
    """The earliest of: the next cron tick, the next look at missing inputs, the next waiver
    expiry, the resync."""
    due = now + RESYNC
    for waiver in (product.get("spec") or {}).get("waivers") or []:
        expiry = dt.datetime.fromisoformat(waiver["expiresAt"])
        expiry = expiry if expiry.tzinfo else expiry.replace(tzinfo=dt.UTC)
        if expiry > now:
            due = min(due, expiry)
    if _ready_reason(status) in WAITING_REASONS:
        due = min(due, now + INPUT_POLL)
    if status.get("nextRun"):
        tick = dt.datetime.strptime(status["nextRun"], TIME_FORMAT).replace(tzinfo=dt.UTC)
        due = min(due, max(tick, now))
    return due
