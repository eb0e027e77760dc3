"""kopf registration for ExportApprovals (the work is in reconcile.py): the sweep looks again
at the expiry and every minute (usedBy)."""

from __future__ import annotations

from operators.exportapproval import reconcile
from operators.exportapproval.build import next_due
from operators.reconciling.level_kind import register_level_kind

KIND = "ExportApproval"
PLURAL = "exportapprovals"

make_sweep = register_level_kind(KIND, PLURAL, reconcile.reconcile, next_due)
