"""kopf registration for DataReplications (the work is in reconcile.py).

No timer per replication: the kind's sweep (operators/sweep) looks at every replication every
SWEEP_INTERVAL for new table versions, cron ticks, approvals that lapsed and peers added to the
configuration; copy runs wake their replication when they finish.
"""

from __future__ import annotations

import datetime as dt

from operators.datareplication import reconcile
from operators.reconciling.level_kind import register_level_kind
from operators.sweep.level import every

KIND = "DataReplication"
PLURAL = "datareplications"
SWEEP_INTERVAL = dt.timedelta(seconds=10)

# The kind's handlers and sweep (operators/reconciling/level_kind.py); operators/main.py starts
# the sweep with make_sweep.
make_sweep = register_level_kind(KIND, PLURAL, reconcile.reconcile, every(SWEEP_INTERVAL))
