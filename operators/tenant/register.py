"""kopf registration for Tenants (the work is in reconcile.py).

No timer per tenant: the kind's sweep (operators/sweep) reconciles every tenant every
SWEEP_INTERVAL, which repairs drift (a deleted Role, a changed quota, a lost S3 policy).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import kopf

from nidc.api.schema import GROUP, VERSION
from operators.clients.context import OperatorContext
from operators.reconciling.level_kind import register_level_kind
from operators.sweep.level import every
from operators.tenant import reconcile

KIND = "Tenant"
PLURAL = "tenants"
SWEEP_INTERVAL = dt.timedelta(minutes=5)
# After this many failed clean-up attempts the finalizer is released anyway, so a broken
# OpenBao or S3 never keeps a Tenant (and its namespace) from going away.
CLEANUP_ATTEMPTS = 5

# The kind's handlers and sweep (operators/reconciling/level_kind.py); operators/main.py starts
# the sweep with make_sweep.
make_sweep = register_level_kind(
    KIND, PLURAL, reconcile.reconcile, every(SWEEP_INTERVAL), cluster_scoped=True
)


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
