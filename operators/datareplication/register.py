"""kopf registration for DataReplications: decorators only; the work is in reconcile.py.

No timer per replication: the kind's sweep (operators/sweep) looks at every replication every
SWEEP_INTERVAL for new table versions, cron ticks, approvals that lapsed and peers added to the
configuration; copy runs wake their replication when they finish.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import kopf

from nidc.api.schema import GROUP, VERSION
from operators.clients.context import OperatorContext
from operators.datareplication import reconcile
from operators.reconciling.errors import retry_when_unavailable
from operators.reconciling.events import post_transition
from operators.reconciling.metrics import measured
from operators.reconciling.status import changed_fields
from operators.sweep.level import every, index_event, level_sweep
from operators.sweep.loop import Sweep

KIND = "DataReplication"
PLURAL = "datareplications"
SWEEP_INTERVAL = dt.timedelta(seconds=10)
next_due = every(SWEEP_INTERVAL)


def make_sweep(context: OperatorContext) -> Sweep:
    """The replications' sweep (started by operators/main.py)."""
    return level_sweep(KIND, context, reconcile.reconcile, next_due, cluster_scoped=False)


@kopf.on.resume(GROUP, VERSION, PLURAL)
@kopf.on.create(GROUP, VERSION, PLURAL)
@kopf.on.update(GROUP, VERSION, PLURAL)
@retry_when_unavailable
@measured(KIND)
def reconcile_datareplication(
    body: kopf.Body, patch: kopf.Patch, memo: kopf.Memo, **_: Any
) -> None:
    context: OperatorContext = memo.context
    previous = dict(body.get("status") or {})
    status = reconcile.reconcile(dict(body), context, dt.datetime.now(dt.UTC))
    patch.status.update(changed_fields(previous, status))
    post_transition(context.api, dict(body), previous, status)


@kopf.on.event(GROUP, VERSION, PLURAL)
async def index_datareplication(
    event: kopf.RawEvent, body: kopf.Body, memo: kopf.Memo, **_: Any
) -> None:
    index_event(memo.context.sweeps.by_kind[KIND], event, dict(body), next_due)
