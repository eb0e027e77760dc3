"""The audit records of a share's decisions (pure): a token vended, rotated or revoked, and a
recipient refused. Never the token, its hash or the profile: the recipient, the profile's path
and the expiry. Record ids are derived from what they record, so a retried pass adopts them."""

from __future__ import annotations

import datetime as dt

from nidc.api.data_share import DataShare, Recipient
from nidc.audit import Resource
from operators.reconciling.audit import AuditEvent
from operators.reconciling.conditions import Problem, rfc3339


def share_resource(share: DataShare) -> Resource:
    return Resource(kind="DataShare", namespace=share.namespace, name=share.name)


def who(recipient: Recipient) -> str:
    return f"{recipient.kind}/{recipient.name}"


def vended_event(
    share: DataShare, recipient: Recipient, path: str, expires: dt.datetime, tables: list[str]
) -> AuditEvent:
    return AuditEvent(
        record_id=f"DataShare/{share.uid}/{who(recipient)}/token/vended/{rfc3339(expires)}",
        action="share.token.vended",
        resource=share_resource(share),
        decision="allow",
        reason=f"token for {who(recipient)} to read {', '.join(tables)}",
        details={"recipient": who(recipient), "profilePath": path, "expiresAt": rfc3339(expires)},
    )


def rotated_event(
    share: DataShare, recipient: Recipient, path: str, expires: dt.datetime, why: str
) -> AuditEvent:
    return AuditEvent(
        record_id=f"DataShare/{share.uid}/{who(recipient)}/token/rotated/{rfc3339(expires)}",
        action="share.token.rotated",
        resource=share_resource(share),
        decision="allow",
        reason=f"token of {who(recipient)} replaced: {why}",
        details={"recipient": who(recipient), "profilePath": path, "expiresAt": rfc3339(expires)},
    )


def revoked_event(
    share: DataShare, recipient: Recipient, expires: dt.datetime | None, why: str, message: str
) -> AuditEvent:
    """A recipient's token(s) deleted (`why`: Deleted, RecipientRemoved, or a problem's
    reason)."""
    held = rfc3339(expires) if expires else "none"
    return AuditEvent(
        record_id=f"DataShare/{share.uid}/{who(recipient)}/token/revoked/{why}/{held}",
        action="share.token.revoked",
        resource=share_resource(share),
        decision="revoke",
        reason=message,
        details={"recipient": who(recipient), "why": why},
    )


def refused_event(share: DataShare, recipient: Recipient, problems: list[Problem]) -> AuditEvent:
    """The recipient may not be served as the share asks (the first problem decides)."""
    return AuditEvent(
        record_id=(
            f"DataShare/{share.uid}/g{share.generation}/{who(recipient)}/refused/"
            f"{problems[0].reason}"
        ),
        action="share.decision",
        resource=share_resource(share),
        decision="deny",
        reason="; ".join(p.message for p in problems),
        details={"recipient": who(recipient), "reasons": [p.reason for p in problems]},
    )
