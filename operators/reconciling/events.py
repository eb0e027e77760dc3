"""Kubernetes events on a resource's transitions (cluster-scoped ones go to `default`)."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from nidc.kube import ApiClient, ApiException, create
from operators.reconciling.conditions import READY, now_rfc3339

REPORTING_COMPONENT = "nidc-operator"
LOGGER = logging.getLogger(__name__)


def build_event(
    obj: dict[str, Any], reason: str, message: str, warning: bool, now: str
) -> dict[str, Any]:
    """A core/v1 Event about `obj` (pure). Messages never carry secrets: callers pass names."""
    meta = obj["metadata"]
    namespace = meta.get("namespace") or "default"
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {
            "name": f"{meta['name']}.{uuid.uuid4().hex[:12]}",
            "namespace": namespace,
        },
        "involvedObject": {
            "apiVersion": obj["apiVersion"],
            "kind": obj["kind"],
            "name": meta["name"],
            "namespace": meta.get("namespace", ""),
            "uid": meta["uid"],
        },
        "reason": reason,
        "message": message[:1024],
        "type": "Warning" if warning else "Normal",
        "source": {"component": REPORTING_COMPONENT},
        "reportingComponent": REPORTING_COMPONENT,
        "reportingInstance": REPORTING_COMPONENT,
        "firstTimestamp": now,
        "lastTimestamp": now,
        "count": 1,
    }


def ready_transition(previous: dict[str, Any] | None, current: dict[str, Any]) -> bool:
    """True when the Ready condition changed status or reason between two statuses (pure)."""

    def ready(status: dict[str, Any] | None) -> tuple[str, str] | None:
        for condition in (status or {}).get("conditions") or []:
            if condition["type"] == READY:
                return condition["status"], condition["reason"]
        return None

    return ready(previous) != ready(current)


def post_transition(
    api: ApiClient, obj: dict[str, Any], previous: dict[str, Any] | None, status: dict[str, Any]
) -> None:
    """Post an event when the Ready condition moved."""
    if not ready_transition(previous, status):
        return
    condition = next(c for c in status["conditions"] if c["type"] == READY)
    post_event(
        api, obj, condition["reason"], condition["message"], warning=condition["status"] != "True"
    )


def post_event(
    api: ApiClient, obj: dict[str, Any], reason: str, message: str, warning: bool
) -> None:
    """Post one event about `obj`, best effort."""
    event = build_event(obj, reason, message, warning=warning, now=now_rfc3339())
    try:
        create(api, event)
    except ApiException as error:
        # Events are best effort: a terminating namespace refuses them, and that must not
        # fail the reconcile whose status is already decided.
        LOGGER.warning("event %s not posted: %s", event["reason"], error.reason)
