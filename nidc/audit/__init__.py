"""The tamper-evident audit trail: every decision and action of the center as a record in an
append-only log, hashed as a Merkle tree in the manner of RFC 9162, with checkpoints signed by
an OpenBao transit key, stored per center in the object store (docs/audit.md).

Operators write through `AuditTrail.append`; `nidc audit verify` and `nidc audit show` read.
"""

from nidc.audit.record import AuditRecord, Resource
from nidc.audit.trail import AuditTrail, AuditUnavailableError

__all__ = ["AuditRecord", "AuditTrail", "AuditUnavailableError", "Resource"]
