"""kopf registration for DataGrants: decorators only; the work is in reconcile.py.

No timer per grant: the kind's sweep (operators/sweep) revokes a grant at its end and renews its
credentials before they lapse (due.py). Deletion revokes through kopf's finalizer.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import kopf

from nidc.api.schema import GROUP, VERSION
from operators.clients.context import OperatorContext
from operators.datagrant import reconcile
from operators.datagrant.due import next_due
from operators.reconciling.errors import retry_when_unavailable
from operators.reconciling.events import post_transition
from operators.reconciling.metrics import measured
from operators.reconciling.status import changed_fields
from operators.sweep.level import index_event, level_sweep
from operators.sweep.loop import Sweep

KIND = "DataGrant"
PLURAL = "datagrants"


def make_sweep(context: OperatorContext) -> Sweep:
    """The grants' sweep (started by operators/main.py)."""
    return level_sweep(KIND, context, reconcile.reconcile, next_due, cluster_scoped=False)


@kopf.on.resume(GROUP, VERSION, PLURAL)
@kopf.on.create(GROUP, VERSION, PLURAL)
@kopf.on.update(GROUP, VERSION, PLURAL)
@retry_when_unavailable
@measured(KIND)
def reconcile_datagrant(body: kopf.Body, patch: kopf.Patch, memo: kopf.Memo, **_: Any) -> None:
    context: OperatorContext = memo.context
    previous = dict(body.get("status") or {})
    status = reconcile.reconcile(dict(body), context, dt.datetime.now(dt.UTC))
    patch.status.update(changed_fields(previous, status))
    post_transition(context.api, dict(body), previous, status)


@kopf.on.event(GROUP, VERSION, PLURAL)
async def index_datagrant(event: kopf.RawEvent, body: kopf.Body, memo: kopf.Memo, **_: Any) -> None:
    index_event(memo.context.sweeps.by_kind[KIND], event, dict(body), next_due)


@kopf.on.delete(GROUP, VERSION, PLURAL)
@retry_when_unavailable
def delete_datagrant(body: kopf.Body, memo: kopf.Memo, logger: kopf.Logger, **_: Any) -> None:
    """Revoke before the grant goes: the finalizer holds it until this succeeds (no give-up:
    a grant whose credentials might still work must not disappear from view)."""
    context: OperatorContext = memo.context
    logger.info(reconcile.clean_up(dict(body), context))
