"""kopf registration for DataSources: decorators only; the work is in reconcile.py."""

from __future__ import annotations

import datetime as dt
from typing import Any

import kopf

from nidc.api.schema import GROUP, VERSION
from operators.clients.context import OperatorContext
from operators.datasource import reconcile
from operators.reconciling.errors import retry_when_unavailable
from operators.reconciling.events import post_transition
from operators.reconciling.metrics import measured
from operators.reconciling.status import changed_fields

PLURAL = "datasources"


# Runs nudge their source when they move; the timer notices landed batches, cron ticks and a
# collector that died.
@kopf.on.resume(GROUP, VERSION, PLURAL)
@kopf.on.create(GROUP, VERSION, PLURAL)
@kopf.on.update(GROUP, VERSION, PLURAL)
@kopf.timer(GROUP, VERSION, PLURAL, interval=10, idle=2)
@retry_when_unavailable
@measured("DataSource")
def reconcile_datasource(body: kopf.Body, patch: kopf.Patch, memo: kopf.Memo, **_: Any) -> None:
    context: OperatorContext = memo.context
    previous = dict(body.get("status") or {})
    status = reconcile.reconcile(dict(body), context, dt.datetime.now(dt.UTC))
    patch.status.update(changed_fields(previous, status))
    post_transition(context.api, dict(body), previous, status)


@kopf.on.delete(GROUP, VERSION, PLURAL)
def delete_datasource(body: kopf.Body, memo: kopf.Memo, logger: kopf.Logger, **_: Any) -> None:
    context: OperatorContext = memo.context
    logger.info(reconcile.clean_up(dict(body), context))
