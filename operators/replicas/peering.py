"""Active/standby replicas with kopf peering: the newest live replica works, the others wait.

kopf pauses an operator when a live peer with a higher priority exists, and pauses *all* of them
when two share a priority; so every replica takes a distinct priority from its start time. The
newest wins: a replica that restarts (same identity, its pod name) takes over at once instead of
waiting out the stale entry of its own previous process, and the one it replaces pauses as soon
as it sees the newer peer. The peering CRD and object are in nidc/api/kopf_peering.py.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from nidc.api.kopf_peering import PEERING_GROUP, PEERING_NAME

__all__ = ["PEERING_GROUP", "PEERING_NAME", "active_peer_above", "priority_from_start"]


def priority_from_start(started: dt.datetime) -> int:
    """A replica's priority: its start time in milliseconds, so the newest is highest (pure)."""
    return int(started.timestamp() * 1000)


def active_peer_above(
    peers: dict[str, Any], identity: str, priority: int, now: dt.datetime
) -> str | None:
    """The identity of a live peer with a higher priority than ours, if any (pure).

    `peers` is the peering object's status as kopf writes it: identity -> {priority, lifetime,
    lastseen}. A replica for which this returns a name is on standby.
    """
    for peer, info in sorted(peers.items()):
        if peer == identity or not isinstance(info, dict):
            continue
        lastseen = dt.datetime.fromisoformat(str(info.get("lastseen")))
        if lastseen.tzinfo is None:
            lastseen = lastseen.replace(tzinfo=dt.UTC)
        alive = lastseen + dt.timedelta(seconds=int(info.get("lifetime", 60))) > now
        if alive and int(info.get("priority", 0)) > priority:
            return peer
    return None
