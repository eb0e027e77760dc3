"""kopf registration for DataProducts: decorators only; the work is in reconcile.py."""

from __future__ import annotations

import datetime as dt
from typing import Any

import kopf

from nidc.api.schema import GROUP, VERSION
from operators.clients.context import OperatorContext
from operators.dataproduct import reconcile
from operators.reconciling.errors import retry_when_unavailable
from operators.reconciling.events import post_transition
from operators.reconciling.metrics import measured
from operators.reconciling.status import changed_fields

PLURAL = "dataproducts"


@kopf.on.resume(GROUP, VERSION, PLURAL)
@kopf.on.create(GROUP, VERSION, PLURAL)
@kopf.on.update(GROUP, VERSION, PLURAL)
# Runs nudge their product when they move (operators/pipelinerun), so the timer is only for
# cron schedules and inputs that gained data: a fast one would cost O(products) API calls/s.
@kopf.timer(GROUP, VERSION, PLURAL, interval=20, idle=5)
@retry_when_unavailable
@measured("DataProduct")
def reconcile_dataproduct(body: kopf.Body, patch: kopf.Patch, memo: kopf.Memo, **_: Any) -> None:
    context: OperatorContext = memo.context
    previous = dict(body.get("status") or {})
    status = reconcile.reconcile(dict(body), context, dt.datetime.now(dt.UTC))
    patch.status.update(changed_fields(previous, status))
    post_transition(context.api, dict(body), previous, status)
