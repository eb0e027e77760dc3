"""A level-based kind's kopf handlers and sweep, registered in one call.

Every such kind reconciles the same way: on resume, create and update kopf hands the body to
the kind's `reconcile(body, context, now) -> status`; only the status fields that changed are
written, and a transition posts its event. Watch events feed the kind's sweep (operators/sweep),
which runs the same reconcile when the object is due again. A kind's register.py is then its
name, its reconcile and when it is due, plus any deletion handler of its own.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import kopf

from nidc.api.schema import GROUP, VERSION
from operators.clients.context import OperatorContext
from operators.reconciling.errors import retry_when_unavailable
from operators.reconciling.events import post_transition
from operators.reconciling.metrics import measured
from operators.reconciling.status import changed_fields
from operators.sweep.level import Due, Reconcile, index_event, level_sweep
from operators.sweep.loop import Sweep

MakeSweep = Callable[[OperatorContext], Sweep]


def register_level_kind(
    kind: str, plural: str, reconcile: Reconcile, due: Due, *, cluster_scoped: bool = False
) -> MakeSweep:
    """Register `kind`'s handlers with kopf; returns its make_sweep (operators/main.py calls it).

    Handler ids are the names the handlers had when each kind wrote them out
    (`reconcile_<kind>`, `index_<kind>`), so objects handled before keep their kopf progress.
    """

    @retry_when_unavailable
    @measured(kind)
    def handle(body: kopf.Body, patch: kopf.Patch, memo: kopf.Memo, **_: Any) -> None:
        context: OperatorContext = memo.context
        previous = dict(body.get("status") or {})
        status = reconcile(dict(body), context, dt.datetime.now(dt.UTC))
        patch.status.update(changed_fields(previous, status))
        post_transition(context.api, dict(body), previous, status)

    async def index(event: kopf.RawEvent, body: kopf.Body, memo: kopf.Memo, **_: Any) -> None:
        index_event(memo.context.sweeps.by_kind[kind], event, dict(body), due)

    handler_id = f"reconcile_{kind.lower()}"
    kopf.on.resume(GROUP, VERSION, plural, id=handler_id)(handle)
    kopf.on.create(GROUP, VERSION, plural, id=handler_id)(handle)
    kopf.on.update(GROUP, VERSION, plural, id=handler_id)(handle)
    kopf.on.event(GROUP, VERSION, plural, id=f"index_{kind.lower()}")(index)

    def make_sweep(context: OperatorContext) -> Sweep:
        return level_sweep(kind, context, reconcile, due, cluster_scoped=cluster_scoped)

    return make_sweep
