"""Pure decisions for an ExportApproval: valid or expired, and who names it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from nidc.api.export_approval import ExportApproval
from nidc.governance.export_approval import parse_time
from operators.reconciling.conditions import Outcome, build_conditions, rfc3339

# The kinds whose spec.exportApproval names an approval of their namespace.
USER_KINDS = ("DataShare", "DataGrant", "DataReplication")
RESYNC = dt.timedelta(minutes=1)
EXPIRED_RESYNC = dt.timedelta(minutes=5)


def users_of(
    approval: str, found: Mapping[str, Iterable[Mapping[str, Any]]]
) -> list[dict[str, str]]:
    """usedBy: every object of `found` (kind -> bodies) that names `approval`, sorted."""
    users = []
    for kind, bodies in found.items():
        for body in bodies:
            ref = (body.get("spec") or {}).get("exportApproval") or {}
            if ref.get("name") == approval:
                users.append({"kind": kind, "name": str(body["metadata"]["name"])})
    return sorted(users, key=lambda u: (u["kind"], u["name"]))


def build_status(
    approval: ExportApproval, users: list[dict[str, str]], now: dt.datetime
) -> dict[str, Any]:
    """ExportApproval.status (pure; the clock passed in)."""
    expires = parse_time(approval.spec.expires_at)
    valid = expires is not None and expires > now
    names = ", ".join(f"{u['kind']} {u['name']}" for u in users) or "nothing yet"
    if expires is None:
        outcome = Outcome(
            False,
            "InvalidExpiry",
            f"spec.expiresAt: {approval.spec.expires_at!r} is not a time",
            degraded=True,
        )
    elif valid:
        outcome = Outcome(True, "Valid", f"in force until {rfc3339(expires)}; used by {names}")
    else:
        outcome = Outcome(
            False,
            "Expired",
            f"lapsed at {rfc3339(expires)}; what it allowed has ended (used by {names})",
        )
    return {
        "observedGeneration": approval.generation,
        "valid": valid,
        "expiresAt": rfc3339(expires) if expires is not None else None,
        "usedBy": users,
        "conditions": build_conditions(
            approval.previous_conditions, outcome, approval.generation, rfc3339(now)
        ),
    }


def next_due(body: dict[str, Any], status: dict[str, Any], now: dt.datetime) -> dt.datetime:
    """At the expiry (to say Expired), else on the resync (usedBy)."""
    expires = parse_time(status.get("expiresAt")) or parse_time(
        (body.get("spec") or {}).get("expiresAt")
    )
    if expires is not None and expires <= now:
        return now + EXPIRED_RESYNC
    due = now + RESYNC
    return min(due, expires) if expires is not None else due
