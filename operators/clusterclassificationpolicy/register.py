"""kopf registration for the cluster baseline policies (the work is in reconcile.py).

The sweep re-reviews every policy every SWEEP_INTERVAL, for what a policy depends on that
changes elsewhere (an approval that lapses).
"""

from __future__ import annotations

import datetime as dt

from operators.clusterclassificationpolicy import reconcile
from operators.reconciling.level_kind import register_level_kind
from operators.sweep.level import every

KIND = "ClusterClassificationPolicy"
PLURAL = "clusterclassificationpolicies"
SWEEP_INTERVAL = dt.timedelta(minutes=2)

# The kind's handlers and sweep (operators/reconciling/level_kind.py); operators/main.py starts
# the sweep with make_sweep.
make_sweep = register_level_kind(
    KIND, PLURAL, reconcile.reconcile, every(SWEEP_INTERVAL), cluster_scoped=True
)
