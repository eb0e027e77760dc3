"""A level-based kind's kopf handler and sweep, registered in one call.

Every such kind reconciles the same way: its watch events feed its sweep (operators/sweep),
which hands the object to the kind's `reconcile(body, context, now) -> status` when it is due:
at once when its spec is new or changed or the operator (re)starts, later when its status says
so. Only the status fields that changed are written, and a transition posts its event. There is
no kopf create/update/resume handler: each cost kopf's own bookkeeping write per object
(its last-handled-configuration annotation) and a second path to the same reconcile. A kind's
register.py is then its name, its reconcile and when it is due, plus any deletion handler of
its own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import kopf

from nidc.api.schema import GROUP, VERSION
from operators.clients.context import OperatorContext
from operators.sweep.level import Due, Reconcile, index_event, level_sweep
from operators.sweep.loop import Sweep

MakeSweep = Callable[[OperatorContext], Sweep]


def register_level_kind(
    kind: str, plural: str, reconcile: Reconcile, due: Due, *, cluster_scoped: bool = False
) -> MakeSweep:
    """Register `kind`'s watch handler with kopf (id `index_<kind>`); returns its make_sweep
    (operators/main.py calls it)."""

    async def index(event: kopf.RawEvent, body: kopf.Body, memo: kopf.Memo, **_: Any) -> None:
        index_event(memo.context.sweeps.by_kind[kind], event, dict(body), due)

    kopf.on.event(GROUP, VERSION, plural, id=f"index_{kind.lower()}")(index)

    def make_sweep(context: OperatorContext) -> Sweep:
        return level_sweep(kind, context, reconcile, due, cluster_scoped=cluster_scoped)

    return make_sweep
