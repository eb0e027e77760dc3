"""kopf registration for Tenants: decorators only; the work is in reconcile.py."""

from __future__ import annotations

from typing import Any

import kopf

from nidc.api.schema import GROUP, VERSION
from operators.clients.context import OperatorContext
from operators.reconciling.errors import retry_when_unavailable
from operators.reconciling.events import post_transition
from operators.reconciling.metrics import measured
from operators.tenant import reconcile

PLURAL = "tenants"
# After this many failed clean-up attempts the finalizer is released anyway, so a broken
# OpenBao or S3 never keeps a Tenant (and its namespace) from going away.
CLEANUP_ATTEMPTS = 5


@kopf.on.resume(GROUP, VERSION, PLURAL)
@kopf.on.create(GROUP, VERSION, PLURAL)
@kopf.on.update(GROUP, VERSION, PLURAL)
@kopf.timer(GROUP, VERSION, PLURAL, interval=300, idle=60)
@retry_when_unavailable
@measured("Tenant")
def reconcile_tenant(body: kopf.Body, patch: kopf.Patch, memo: kopf.Memo, **_: Any) -> None:
    context: OperatorContext = memo.context
    status = reconcile.reconcile(dict(body), context)
    patch.status.update(status)
    post_transition(context.api, dict(body), body.get("status"), status)


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
