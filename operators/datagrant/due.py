"""When a DataGrant is next due in its kind's sweep, from the status just computed (pure).

No timer per grant: the sweep looks at a grant when its access ends (to revoke it), when its
credentials are due for renewal, soon after OpenBao could not be used, and on a resync. Its
copy runs wake it when they finish. A grant waiting for its product to be Ready looks again
every PRODUCT_POLL: the product's Ready is not a watch of this kind, and the one-minute resync
made the e2e demo's grant a minute late after its product.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from operators.datagrant.access import RENEW_BEFORE
from operators.datagrant.build import WAITING_REASONS, parse_time

RESYNC = dt.timedelta(minutes=1)
# OpenBao sealed or unreachable: look again this soon, so unsealing converges in seconds.
OPENBAO_RETRY = dt.timedelta(seconds=5)
RETRY_REASONS = {"OpenBaoSealed", "OpenBaoUnavailable", "OpenBaoForbidden"}
EXPIRED_RESYNC = dt.timedelta(minutes=5)
PRODUCT_POLL = dt.timedelta(seconds=10)


def ready_reason(status: dict[str, Any]) -> str:
    for condition in status.get("conditions") or []:
        if condition.get("type") == "Ready":
            return str(condition.get("reason") or "")
    return ""


def next_due(grant: dict[str, Any], status: dict[str, Any], now: dt.datetime) -> dt.datetime:
    """The earliest of: the access end, the renewal time, an OpenBao retry, the next look at a
    product it waits for, the resync."""
    reason = ready_reason(status)
    if reason in RETRY_REASONS:
        return now + OPENBAO_RETRY
    if reason == "Expired":
        return now + EXPIRED_RESYNC
    due = now + (PRODUCT_POLL if reason in WAITING_REASONS else RESYNC)
    ends = parse_time(status.get("expiresAt")) or parse_time(
        (grant.get("spec") or {}).get("expiresAt")
    )
    if ends is not None:
        due = min(due, max(ends, now))
    credential = parse_time(status.get("credentialExpiresAt"))
    if credential is not None:
        due = min(due, max(credential - RENEW_BEFORE, now))
    return due
