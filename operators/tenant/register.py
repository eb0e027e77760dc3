"""kopf registration for Tenants: decorators only; the work is in reconcile.py.

No timer per tenant: the kind's sweep (operators/sweep) reconciles every tenant every
SWEEP_INTERVAL, which repairs drift (a deleted Role, a changed quota, a lost S3 policy).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import kopf

from nidc.api.schema import GROUP, VERSION
from operators.clients.context import OperatorContext
from operators.reconciling.errors import retry_when_unavailable
from operators.reconciling.events import post_transition
from operators.reconciling.metrics import measured
from operators.sweep.level import every, index_event, level_sweep
from operators.sweep.loop import Sweep
from operators.tenant import reconcile

KIND = "Tenant"
PLURAL = "tenants"
SWEEP_INTERVAL = dt.timedelta(minutes=5)
next_due = every(SWEEP_INTERVAL)
# After this many failed clean-up attempts the finalizer is released anyway, so a broken
# OpenBao or S3 never keeps a Tenant (and its namespace) from going away.
CLEANUP_ATTEMPTS = 5


def reconcile_at(
    body: dict[str, Any], context: OperatorContext, now: dt.datetime
) -> dict[str, Any]:
    return reconcile.reconcile(body, context)


def make_sweep(context: OperatorContext) -> Sweep:
    """The tenants' sweep (started by operators/main.py)."""
    return level_sweep(KIND, context, reconcile_at, next_due, cluster_scoped=True)


@kopf.on.resume(GROUP, VERSION, PLURAL)
@kopf.on.create(GROUP, VERSION, PLURAL)
@kopf.on.update(GROUP, VERSION, PLURAL)
@retry_when_unavailable
@measured(KIND)
def reconcile_tenant(body: kopf.Body, patch: kopf.Patch, memo: kopf.Memo, **_: Any) -> None:
    context: OperatorContext = memo.context
    status = reconcile.reconcile(dict(body), context)
    patch.status.update(status)
    post_transition(context.api, dict(body), body.get("status"), status)


@kopf.on.event(GROUP, VERSION, PLURAL)
async def index_tenant(event: kopf.RawEvent, body: kopf.Body, memo: kopf.Memo, **_: Any) -> None:
    index_event(memo.context.sweeps.by_kind[KIND], event, dict(body), next_due)


@kopf.on.delete(GROUP, VERSION, PLURAL)
def delete_tenant(
    body: kopf.Body, memo: kopf.Memo, retry: int, logger: kopf.Logger, **_: Any
) -> None:
    context: OperatorContext = memo.context
    try:
        logger.info(reconcile.clean_up(dict(body), context))
    except Exception as error:
        if retry + 1 >= CLEANUP_ATTEMPTS:
            logger.warning(f"clean-up gave up after {retry + 1} attempts: {error}")
            return
        raise kopf.TemporaryError(f"clean-up failed: {error}", delay=5) from error
