"""The audit records of a grant's decisions (pure): credentials issued (vended), renewed and
revoked, and a grant refused. Record ids are derived from what they record, so a pass retried
after a crash adopts the record the first try wrote (nidc/audit)."""

from __future__ import annotations

import datetime as dt

from nidc.audit import Resource
from operators.datagrant.names import GrantNames
from operators.reconciling.audit import AuditEvent
from operators.reconciling.conditions import Problem
from operators.runs.record import format_time


def grant_resource(names: GrantNames) -> Resource:
    return Resource(kind="DataGrant", namespace=names.namespace, name=names.name)


def issued_event(names: GrantNames, grantee: str, expires: dt.datetime) -> AuditEvent:
    """Credentials vended: an S3 identity for the governed copy, stored in OpenBao."""
    return AuditEvent(
        record_id=f"DataGrant/{names.uid}/credential/issued/{format_time(expires)}",
        action="grant.credential.issued",
        resource=grant_resource(names),
        decision="allow",
        reason=f"credentials for {grantee} to read {names.governed_path}",
        details={
            "accessKey": names.access_key,
            "credentialPath": names.credential_api_path,
            "expiresAt": format_time(expires),
            "grantee": grantee,
        },
    )


def renewed_event(names: GrantNames, expires: dt.datetime) -> AuditEvent:
    return AuditEvent(
        record_id=f"DataGrant/{names.uid}/credential/renewed/{format_time(expires)}",
        action="grant.credential.renewed",
        resource=grant_resource(names),
        decision="allow",
        reason=f"credentials renewed until {format_time(expires)}",
        details={"accessKey": names.access_key, "expiresAt": format_time(expires)},
    )


def revoked_event(names: GrantNames, generation: int, why: str, message: str) -> AuditEvent:
    """Access ended (`why`: Deleted, Expired, or the reason of a problem that revokes)."""
    return AuditEvent(
        record_id=f"DataGrant/{names.uid}/g{generation}/revoked/{why}",
        action="grant.revoked",
        resource=grant_resource(names),
        decision="revoke",
        reason=message,
        details={"accessKey": names.access_key, "why": why},
    )


def refused_event(names: GrantNames, generation: int, problems: list[Problem]) -> AuditEvent:
    """The grant, as specified, may not be served (the first problem decides the reason)."""
    return AuditEvent(
        record_id=f"DataGrant/{names.uid}/g{generation}/refused/{problems[0].reason}",
        action="grant.decision",
        resource=grant_resource(names),
        decision="deny",
        reason="; ".join(p.message for p in problems),
        details={"reasons": [p.reason for p in problems]},
    )
