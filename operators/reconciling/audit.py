"""Audit records of the operator's decisions (nidc/audit): what to write, and the policy when
the log cannot be written.

Fail closed: a reconcile writes its audit record *before* the status that makes the decision
durable, so an unwritable log (object store or OpenBao down past the trail's own retries)
stops the step with NotReadyError("AuditUnavailable"), logged in one line, and the step is
retried; its record id then adopts whatever the earlier try managed to write. No decision is
recorded in status without its audit record (docs/decisions/0140-audit-trail.md).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from nidc.audit import AuditUnavailableError, Resource
from nidc.operator_rbac import OPERATOR_NAME, OPERATOR_NAMESPACE
from nidc.telemetry.tracing import current_traceparent
from operators.clients.context import OperatorContext
from operators.reconciling.errors import NotReadyError

LOGGER = logging.getLogger(__name__)
OPERATOR_ACTOR = f"system:serviceaccount:{OPERATOR_NAMESPACE}:{OPERATOR_NAME}"
AUDIT_RETRY_SECONDS = 10


@dataclass(frozen=True)
class AuditEvent:
    """One record to append (pure data; builders in each kind decide what it says)."""

    record_id: str
    action: str
    resource: Resource
    decision: str
    reason: str = ""
    details: Mapping[str, Any] = field(default_factory=dict)
    actor: str = OPERATOR_ACTOR


def resource_of(body: Mapping[str, Any]) -> Resource:
    metadata = body["metadata"]
    return Resource(
        kind=str(body["kind"]),
        namespace=str(metadata.get("namespace") or ""),
        name=str(metadata["name"]),
    )


def trace_id() -> str:
    """The current span's trace id (32 hex digits), '' outside any span."""
    parts = current_traceparent().split("-")
    return parts[1] if len(parts) == 4 else ""


def record(ctx: OperatorContext, event: AuditEvent) -> None:
    """Append the event to the center's log; NotReadyError when it cannot be written."""
    if ctx.audit is None:
        return
    try:
        ctx.audit.append(
            actor=event.actor,
            action=event.action,
            resource=event.resource,
            decision=event.decision,
            reason=event.reason,
            trace_id=trace_id(),
            details=event.details,
            record_id=event.record_id,
        )
    except AuditUnavailableError as error:
        LOGGER.error("audit: %s of %s not recorded: %s", event.action, event.resource.text, error)
        raise NotReadyError(
            "AuditUnavailable",
            f"the audit log could not record {event.action}: {error}; the step waits for it",
            AUDIT_RETRY_SECONDS,
        ) from error
