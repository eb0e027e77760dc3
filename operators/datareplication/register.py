"""kopf registration for DataReplications: decorators only; the work is in reconcile.py."""

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

PLURAL = "datareplications"


# Copy runs nudge their replication when they move; the timer notices new table versions, cron
# ticks, approvals that lapsed and peers added to the configuration.
@kopf.on.resume(GROUP, VERSION, PLURAL)
@kopf.on.create(GROUP, VERSION, PLURAL)
@kopf.on.update(GROUP, VERSION, PLURAL)
@kopf.timer(GROUP, VERSION, PLURAL, interval=10, idle=2)
@retry_when_unavailable
@measured("DataReplication")
def reconcile_datareplication(
    body: kopf.Body, patch: kopf.Patch, memo: kopf.Memo, **_: Any
) -> None:
    context: OperatorContext = memo.context
    previous = dict(body.get("status") or {})
    status = reconcile.reconcile(dict(body), context, dt.datetime.now(dt.UTC))
    patch.status.update(changed_fields(previous, status))
    post_transition(context.api, dict(body), previous, status)
