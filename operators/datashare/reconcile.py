"""One level-based pass over a DataShare.

typed model -> observe (products, tenants, the grants that give each product to each tenant
recipient, the approval) -> decide per recipient under the grade bundle (pure, build.py) ->
vend, adopt, rotate or revoke each recipient's token in OpenBao (tokens.py) -> status (pure).
The Delta Sharing server reads status.tables and the token records; it serves nothing the
status does not list, and no token whose record is gone.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from hvac.exceptions import VaultDown
from pydantic import ValidationError

from nidc.api.data_share import DataShare, Recipient, RecipientKind
from nidc.api.schema import API_VERSION
from nidc.governance.grade_bundle import grade_bundle
from nidc.kube import get, list_objects
from operators.clients.context import OperatorContext
from operators.datashare.audit_events import refused_event
from operators.datashare.build import (
    GrantView,
    Held,
    Observed,
    ProductView,
    RecipientDecision,
    RecipientView,
    build_status,
    decide,
    removed_recipients,
)
from operators.datashare.profile import parse_ttl, profile_path, read_profile
from operators.datashare.tokens import ensure_token, revoke_token
from operators.reconciling.audit import record
from operators.reconciling.conditions import READY, Outcome, invalid_spec_status
from operators.reconciling.errors import NotReadyError
from operators.reconciling.openbao_guard import (
    OpenBaoNotServingError,
    openbao_guarded,
    require_openbao,
)

OPENBAO_RETRY_SECONDS = 3


def product_view(body: Mapping[str, Any]) -> ProductView:
    spec, status = body.get("spec") or {}, body.get("status") or {}
    grade = status.get("grade") or status.get("computedGrade")
    serving = status.get("lastGoodVersion")
    if serving is None:
        serving = status.get("tableVersion")
    return ProductView(
        name=body["metadata"]["name"],
        grade=int(grade) if grade is not None else None,
        table=str(spec.get("targetTable") or ""),
        serving_version=int(serving) if serving is not None else None,
    )


def grant_view(body: Mapping[str, Any]) -> GrantView:
    status = body.get("status") or {}
    ready: dict[str, Any] = next(
        (c for c in status.get("conditions") or [] if c.get("type") == READY), {}
    )
    copied = status.get("copiedVersion")
    return GrantView(
        name=body["metadata"]["name"],
        ready=ready.get("status") == "True",
        reason=str(ready.get("reason") or "NoStatus"),
        message=str(ready.get("message") or "the grant has no status yet"),
        governed_copy_path=status.get("governedCopyPath"),
        copied_version=int(copied) if copied is not None else None,
    )


def tenant_grants(share: DataShare, grants: list[dict[str, Any]]) -> dict[tuple[str, str], Any]:
    """(tenant, product) -> the grant serving it: a Ready one first, then by name."""
    found: dict[tuple[str, str], GrantView] = {}
    for body in sorted(grants, key=lambda g: g["metadata"]["name"]):
        spec = body.get("spec") or {}
        grantee = spec.get("grantee") or {}
        if grantee.get("kind") != RecipientKind.TENANT:
            continue
        key = (str(grantee.get("name")), str((spec.get("product") or {}).get("name")))
        view = grant_view(body)
        if key not in found or (view.ready and not found[key].ready):
            found[key] = view
    return found


def observe(share: DataShare, ctx: OperatorContext) -> Observed:
    """Products and grants of the namespace (one LIST each), tenants (one LIST), the approval."""
    namespace = share.namespace
    products = {
        p["metadata"]["name"]: product_view(p)
        for p in list_objects(ctx.api, API_VERSION, "DataProduct", namespace)
    }
    tenants = {t["metadata"]["name"]: t for t in list_objects(ctx.api, API_VERSION, "Tenant")}
    recipients: dict[tuple[str, str], RecipientView] = {}
    for r in share.spec.recipients:
        if r.kind == RecipientKind.TENANT:
            tenant = tenants.get(r.name)
            region = (tenant or {}).get("spec", {}).get("region")
            recipients[(r.kind, r.name)] = RecipientView(tenant is not None, region)
        else:
            recipients[(r.kind, r.name)] = RecipientView(True, r.name)
    grants = tenant_grants(share, list_objects(ctx.api, API_VERSION, "DataGrant", namespace))
    ref = share.spec.export_approval
    approval = get(ctx.api, API_VERSION, "ExportApproval", ref.name, namespace) if ref else None
    provider = tenants.get(namespace) or {}
    return Observed(
        provider_region=provider.get("spec", {}).get("region"),
        products=products,
        recipients=recipients,
        grants=grants,
        approval=approval,
    )


def key(recipient: Recipient) -> tuple[str, str]:
    return (str(recipient.kind), recipient.name)


def previously_held(share: DataShare) -> dict[tuple[str, str], Held]:
    """The tokens the last status recorded (for a pass that could not look)."""
    held = {}
    for entry in share.status.get("recipients") or []:
        expires = entry.get("expiresAt")
        held[(str(entry.get("kind") or RecipientKind.TENANT), str(entry.get("name")))] = Held(
            entry.get("profilePath"),
            dt.datetime.fromisoformat(expires.replace("Z", "+00:00")) if expires else None,
        )
    return held


def apply_tokens(
    ctx: OperatorContext,
    share: DataShare,
    decisions: list[RecipientDecision],
    endpoint: str | None,
    now: dt.datetime,
) -> dict[tuple[str, str], Held]:
    """Each recipient's token as decided; the removed recipients' tokens revoked."""
    require_openbao(ctx)
    ttl = parse_ttl(share.spec.token_ttl)
    held: dict[tuple[str, str], Held] = {}
    for decision in decisions:
        recipient = decision.recipient
        path = profile_path(recipient, share.namespace, share.name)
        if decision.refused:
            record(ctx, refused_event(share, recipient, decision.refused))
            first = decision.refused[0]
            revoke_token(ctx, share, recipient, path, first.reason, first.message)
        elif decision.served and endpoint is not None:
            tables = [t.product for t in decision.tables]
            expires = ensure_token(
                ctx, share, recipient, path, endpoint, ttl, decision.cap, tables, now
            )
            held[key(recipient)] = Held(path, expires)
        else:
            # Waiting for a first governed copy, or no endpoint: keep what it holds.
            current = read_profile(ctx.openbao.read_kv(path))
            if current is not None:
                held[key(recipient)] = Held(path, current.expires)
    for recipient in removed_recipients(share):
        path = profile_path(recipient, share.namespace, share.name)
        revoke_token(
            ctx,
            share,
            recipient,
            path,
            "RecipientRemoved",
            f"{recipient.kind} {recipient.name} is no longer a recipient",
        )
    return held


def reconcile(body: Mapping[str, Any], ctx: OperatorContext, now: dt.datetime) -> dict[str, Any]:
    """One pass; returns the status to write."""
    try:
        share = DataShare.from_body(body)
    except ValidationError as error:
        return invalid_spec_status(body, error, now)
    seen = observe(share, ctx)
    decisions = decide(share, seen, grade_bundle(), now)
    endpoint = ctx.settings.sharing_endpoint
    held = openbao_guarded(ctx, lambda: apply_tokens(ctx, share, decisions, endpoint, now))
    if isinstance(held, OpenBaoNotServingError):
        outcome = Outcome(False, held.reason, str(held), degraded=True)
        return build_status(share, decisions, previously_held(share), True, now, outcome)
    return build_status(share, decisions, held, endpoint is not None, now)


def clean_up(body: Mapping[str, Any], ctx: OperatorContext) -> str:
    """On deletion: revoke every recipient's token (those of the spec and of the last status)."""
    share = DataShare.from_body(body)
    recipients = {key(r): r for r in [*share.spec.recipients, *removed_recipients(share)]}
    try:
        require_openbao(ctx)
        revoked = [
            r.name
            for r in recipients.values()
            if revoke_token(
                ctx,
                share,
                r,
                profile_path(r, share.namespace, share.name),
                "Deleted",
                "the share was deleted",
            )
        ]
    except OpenBaoNotServingError as error:
        raise NotReadyError(error.reason, str(error), OPENBAO_RETRY_SECONDS) from error
    except VaultDown as error:
        raise NotReadyError("OpenBaoSealed", "OpenBao is sealed", OPENBAO_RETRY_SECONDS) from error
    return f"revoked the tokens of {len(revoked)} recipient(s): {', '.join(revoked) or 'none'}"
