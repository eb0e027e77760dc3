"""kopf registration for DataGrants (the work is in reconcile.py).

No timer per grant: the kind's sweep (operators/sweep) revokes a grant at its end and renews its
credentials before they lapse (due.py); copy runs wake their grant when they finish. Deletion
revokes in kopf's finalizer handler, which holds the grant until revocation succeeded.
"""

from __future__ import annotations

from typing import Any

import kopf

from nidc.api.schema import GROUP, VERSION
from operators.clients.context import OperatorContext
from operators.datagrant import reconcile
from operators.datagrant.due import next_due
from operators.reconciling.errors import retry_when_unavailable
from operators.reconciling.level_kind import register_level_kind

KIND = "DataGrant"
PLURAL = "datagrants"

# The kind's handlers and sweep (operators/reconciling/level_kind.py); operators/main.py starts
# the sweep with make_sweep.
make_sweep = register_level_kind(KIND, PLURAL, reconcile.reconcile, next_due)


@kopf.on.delete(GROUP, VERSION, PLURAL)
@retry_when_unavailable
def delete_datagrant(body: kopf.Body, memo: kopf.Memo, logger: kopf.Logger, **_: Any) -> None:
    """No give-up after N attempts (unlike a Tenant's clean-up): a grant whose credentials
    might still work must not disappear from view."""
    context: OperatorContext = memo.context
    logger.info(reconcile.clean_up(dict(body), context))
