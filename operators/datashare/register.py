"""kopf registration for DataShares (the work is in reconcile.py).

No timer per share: the kind's sweep (operators/sweep) rotates tokens and ends them at their
approval's expiry (due.py). Deletion revokes every token in kopf's finalizer handler, which holds
the share until revocation succeeded.
"""

from __future__ import annotations

from typing import Any

import kopf

from nidc.api.schema import GROUP, VERSION
from operators.clients.context import OperatorContext
from operators.datashare import reconcile
from operators.datashare.due import next_due
from operators.reconciling.errors import retry_when_unavailable
from operators.reconciling.level_kind import register_level_kind

KIND = "DataShare"
PLURAL = "datashares"

make_sweep = register_level_kind(KIND, PLURAL, reconcile.reconcile, next_due)


@kopf.on.delete(GROUP, VERSION, PLURAL)
@retry_when_unavailable
def delete_datashare(body: kopf.Body, memo: kopf.Memo, logger: kopf.Logger, **_: Any) -> None:
    """A share whose tokens might still work must not disappear from view: no give-up."""
    context: OperatorContext = memo.context
    logger.info(reconcile.clean_up(dict(body), context))
