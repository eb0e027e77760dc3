"""The sweep of a level-based kind: GET the object, reconcile it, write what changed.

The only pass a level-based kind makes (operators/reconciling/level_kind.py; decision 0310), done
for keys the kind's index says are due; an index entry comes from the kind's watch events and
from wake-ups (a run of the object finished).
"""

from __future__ import annotations

import datetime as dt
import logging
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

LOGGER = logging.getLogger(__name__)

Body = dict[str, Any]
Reconcile = Callable[[Body, OperatorContext, dt.datetime], Body]
# When the object is next due by itself, from its body and the status just computed.
Due = Callable[[Body, Body, dt.datetime], dt.datetime]


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
        scope = None if cluster_scoped else namespace
        body = get(context.api, API_VERSION, kind, name, scope)
        if body is None or being_deleted(body):
            return None  # gone, or kopf's deletion handler has it
        now = dt.datetime.now(dt.UTC)
        previous = dict(body.get("status") or {})
        try:
            status = reconcile(body, context, now)
        except Exception as error:
            # Deleted while this pass ran: the deletion handler's clean-up may have removed what
            # the pass was writing (a tenant's S3 policy). Not a failure of the reconciler.
            now_there = get(context.api, API_VERSION, kind, name, scope)
            if now_there is None or being_deleted(now_there):
                LOGGER.info(
                    "%s %s/%s: deleted while reconciling (%s); dropped",
                    kind,
                    namespace,
                    name,
                    type(error).__name__,
                )
                return None
            raise
        changed = changed_fields(previous, status)
        if changed:
            patch_status(context.api, body, changed)
            post_transition(context.api, body, previous, status)
        return due(body, status, now).timestamp()

    return Sweep(kind, step)


def index_event(
    sweep: Sweep, event: Any, body: Body, due: Due, now: dt.datetime | None = None
) -> None:
    """Feed one watch event of the kind into its sweep's index: the watch is the kind's only
    trigger (no kopf create/update/resume handler: each would cost a write of kopf's own per
    object). Due now: the initial listing (an operator start or a resume from standby: every
    object is looked at, as a resume handler would) and any object whose spec its status has
    not seen; otherwise when the object says it is next due."""
    meta = body["metadata"]
    key = (meta.get("namespace") or "", meta["name"])
    if event.get("type") == "DELETED":
        sweep.index.forget(key)
        return
    now = now or dt.datetime.now(dt.UTC)
    if event.get("type") is None or not spec_seen(body):
        sweep.wake(key)
        return
    sweep.wake(key, at=due(body, dict(body.get("status") or {}), now).timestamp())


def being_deleted(body: Body) -> bool:
    return bool(body["metadata"].get("deletionTimestamp"))


def spec_seen(body: Body) -> bool:
    """The status says it was computed from the object's current generation."""
    generation = body["metadata"].get("generation")
    status = body.get("status") or {}
    seen = status.get("observedGeneration")
    if seen is None:
        ready = [c for c in status.get("conditions") or [] if c.get("type") == "Ready"]
        seen = ready[0].get("observedGeneration") if ready else None
    return generation is not None and seen == generation
