"""When a DataShare is next due in its kind's sweep, from the status just computed (pure).

No timer per share: the sweep looks at a share when a recipient's token expires (a token is
capped at its export approval's expiry, so that is also when an approval ends the share), when
a token comes up for rotation, soon after OpenBao could not be used, and on a one-minute resync
(which also notices a grant's or product's change). A share waiting for a grant's first copy
looks again every GRANT_POLL, so a recipient is served soon after its copy lands.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from nidc.governance.export_approval import parse_time
from operators.datashare.profile import parse_ttl, rotation_due

RESYNC = dt.timedelta(minutes=1)
OPENBAO_RETRY = dt.timedelta(seconds=5)
RETRY_REASONS = {"OpenBaoSealed", "OpenBaoUnavailable", "OpenBaoForbidden"}
GRANT_POLL = dt.timedelta(seconds=10)


def ready_reason(status: dict[str, Any]) -> str:
    for condition in status.get("conditions") or []:
        if condition.get("type") == "Ready":
            return str(condition.get("reason") or "")
    return ""


def next_due(share: dict[str, Any], status: dict[str, Any], now: dt.datetime) -> dt.datetime:
    """The earliest of: a token's expiry, its rotation, an OpenBao retry, the next look at a
    grant it waits for, the resync."""
    reason = ready_reason(status)
    if reason in RETRY_REASONS:
        return now + OPENBAO_RETRY
    due = now + (GRANT_POLL if reason == "Waiting" else RESYNC)
    try:
        ttl = parse_ttl(str((share.get("spec") or {}).get("tokenTTL", "24h")))
    except ValueError:
        return due
    for recipient in status.get("recipients") or []:
        expires = parse_time(recipient.get("expiresAt"))
        if expires is None:
            continue
        rotate = rotation_due(expires, ttl)
        due = min(due, max(expires, now), rotate if rotate > now else due)
    return due
