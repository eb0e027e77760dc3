"""kopf registration for DataSources (the work is in reconcile.py).

No timer per source: the kind's sweep (operators/sweep) looks at every source every
SWEEP_INTERVAL for landed batches, cron ticks and a collector that died; runs wake their source
when they finish.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import kopf

from nidc.api.schema import GROUP, VERSION
from operators.clients.context import OperatorContext
from operators.datasource import reconcile
from operators.reconciling.level_kind import register_level_kind
from operators.sweep.level import every

KIND = "DataSource"
PLURAL = "datasources"
SWEEP_INTERVAL = dt.timedelta(seconds=10)

# The kind's handlers and sweep (operators/reconciling/level_kind.py); operators/main.py starts
# the sweep with make_sweep.
make_sweep = register_level_kind(KIND, PLURAL, reconcile.reconcile, every(SWEEP_INTERVAL))


@kopf.on.delete(GROUP, VERSION, PLURAL)
def delete_datasource(body: kopf.Body, memo: kopf.Memo, logger: kopf.Logger, **_: Any) -> None:
    context: OperatorContext = memo.context
    logger.info(reconcile.clean_up(dict(body), context))
