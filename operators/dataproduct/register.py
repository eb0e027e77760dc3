"""kopf registration for DataProducts (the work is in reconcile.py).

No timer per product: the kind's watch events feed its sweep (operators/sweep), which looks at
a product again at its next cron tick, while it waits for inputs, when one of its runs finished
(the run wakes it), and on a slow resync (due.py).
"""

from __future__ import annotations

from operators.dataproduct import reconcile
from operators.dataproduct.due import next_due
from operators.reconciling.level_kind import register_level_kind

KIND = "DataProduct"
PLURAL = "dataproducts"

# The kind's handlers and sweep (operators/reconciling/level_kind.py); operators/main.py starts
# the sweep with make_sweep.
make_sweep = register_level_kind(KIND, PLURAL, reconcile.reconcile, next_due)
