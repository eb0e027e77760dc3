"""Liveness: fail when the operator's watch streams stop delivering events (kopf #787, #1276).

A watch stream can go silent without an error: the operator then looks healthy and does nothing.
Each replica renews a heartbeat Lease of its own every HEARTBEAT_SECONDS and notes when that
renewal comes back through a kopf watch. If nothing came back for longer than the allowed
silence, the probe fails and the kubelet restarts the pod. A replica on standby (kopf peering
paused it in favour of a live, higher-priority peer) has its watches paused on purpose, so for
it the peering object is the evidence instead.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from typing import Any

from nidc.operator_rbac import OPERATOR_NAMESPACE

HEARTBEAT_SECONDS = 10
HEARTBEAT_LABEL = {"app.kubernetes.io/component": "operator-heartbeat"}


def now_utc() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class Heartbeat:
    """What one replica sent and saw of its own heartbeat."""

    identity: str
    started_at: dt.datetime = field(default_factory=now_utc)
    sent_at: dt.datetime | None = None
    seen_at: dt.datetime | None = None

    @property
    def lease_name(self) -> str:
        digest = hashlib.sha256(self.identity.encode()).hexdigest()[:12]
        return f"nidc-operator-heartbeat-{digest}"


def build_heartbeat_lease(heartbeat: Heartbeat, now: dt.datetime) -> dict[str, Any]:
    """The replica's heartbeat Lease, renewed to `now` (pure)."""
    return {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {
            "name": heartbeat.lease_name,
            "namespace": OPERATOR_NAMESPACE,
            "labels": {**HEARTBEAT_LABEL, "app.kubernetes.io/part-of": "nidc"},
        },
        "spec": {
            "holderIdentity": heartbeat.identity,
            "leaseDurationSeconds": HEARTBEAT_SECONDS * 3,
            "renewTime": now.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        },
    }


def watch_silence(heartbeat: Heartbeat, now: dt.datetime, max_silence: dt.timedelta) -> str:
    """Why the watch counts as dead, or '' when an event came back recently enough (pure)."""
    reference = heartbeat.seen_at or heartbeat.started_at
    silent_for = now - reference
    if silent_for <= max_silence:
        return ""
    what = "the last heartbeat event" if heartbeat.seen_at else "start"
    sent = (
        f"; last heartbeat sent {int((now - heartbeat.sent_at).total_seconds())} s ago"
        if heartbeat.sent_at
        else "; no heartbeat could be sent"
    )
    return (
        f"no watch event for {int(silent_for.total_seconds())} s since {what} "
        f"(allowed {int(max_silence.total_seconds())} s){sent}"
    )
