"""The sweep of a level-based kind: GET the object, reconcile it, write what changed.

The same pass kopf's create/update/resume handlers make (operators/<kind>/register.py), done for
keys the kind's index says are due; an index entry comes from the kind's watch events and from
wake-ups (a run of the object finished).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from nidc.api.schema import API_VERSION
from nidc.kube import get, patch_status
from operators.clients.context import OperatorContext
from operators.reconciling.events import post_transition
from operators.reconciling.metrics import measured
from operators.reconciling.status import changed_fields
from operators.sweep.index import Key
from operators.sweep.loop import Sweep

Body = dict[str, Any]
Reconcile = Callable[[Body, OperatorContext, dt.datetime], Body]
# When the object is next due by itself, from its body and the status just computed.
Due = Callable[[Body, Body, dt.datetime], dt.datetime]
# After an operator (re)start or a pause, every object is looked at within this long, whatever
# its status says: kopf's resume handlers cover a start, this also covers a peering takeover.
RESUME_WITHIN = dt.timedelta(seconds=60)


def every(interval: dt.timedelta) -> Due:
    """A kind whose objects are looked at every `interval`."""

    def due(body: Body, status: Body, now: dt.datetime) -> dt.datetime:
        return now + interval

    return due


def level_sweep(
    kind: str, context: OperatorContext, reconcile: Reconcile, due: Due, cluster_scoped: bool
) -> Sweep:
    """The sweep of `kind`: what kopf's handler does, for one due key."""

    @measured(kind)
    def step(key: Key, hint: Any) -> float | None:
        namespace, name = key
        body = get(context.api, API_VERSION, kind, name, None if cluster_scoped else namespace)
        if body is None or body["metadata"].get("deletionTimestamp"):
            return None  # gone, or kopf's deletion handler has it
        now = dt.datetime.now(dt.UTC)
        previous = dict(body.get("status") or {})
        status = reconcile(body, context, now)
        changed = changed_fields(previous, status)
        if changed:
            patch_status(context.api, body, changed)
            post_transition(context.api, body, previous, status)
        return due(body, status, now).timestamp()

    return Sweep(kind, step)


def index_event(
    sweep: Sweep, event: Any, body: Body, due: Due, now: dt.datetime | None = None
) -> None:
    """Feed one watch event of the kind into its sweep's index."""
    meta = body["metadata"]
    key = (meta.get("namespace") or "", meta["name"])
    if event.get("type") == "DELETED":
        sweep.index.forget(key)
        return
    now = now or dt.datetime.now(dt.UTC)
    at = due(body, dict(body.get("status") or {}), now)
    if event.get("type") is None:  # the initial listing: a start or a resume from standby
        at = min(at, now + RESUME_WITHIN)
    sweep.wake(key, at=at.timestamp())
