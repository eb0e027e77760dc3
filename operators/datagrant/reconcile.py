"""One level-based pass over a DataGrant.

typed model -> observe (the product and its schema, the grantee, the approval, the recorded
copy runs) -> validate (pure) -> plan the governed copy (pure) -> cancel/record/prune the copy
runs (operators/runs/owner.py) -> issue, renew or revoke the short-lived credentials -> status
(pure). The PipelineRun reconciler submits the copies.

Credentials, in order, each step create-or-adopt under the grant's names (names.py): the secret
is written to OpenBao first, then the MinIO service account is made with it, then the OpenBao
policy and Kubernetes auth role that let the grantee read it. A crash or a sealed OpenBao
between two steps leaves nothing the grantee can use, and the next pass finishes the same
account (never a second one).
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Mapping
from typing import Any

from hvac.exceptions import VaultDown
from pydantic import ValidationError

from nidc.api.addressing import table_path
from nidc.api.data_grant import DataGrant, GranteeKind
from nidc.api.job_specs import GovernedCopyJob
from nidc.api.schema import API_VERSION
from nidc.governance.grade_bundle import grade_bundle
from nidc.governance.masking import ProductColumn
from nidc.kube import get
from operators.clients.context import OperatorContext
from operators.clients.delta_schema import table_columns
from operators.datagrant.access import (
    Credential,
    build_openbao_policy,
    build_openbao_role,
    build_s3_policy,
    credential_expiry,
    needs_renewal,
)
from operators.datagrant.audit_events import (
    issued_event,
    refused_event,
    renewed_event,
    revoked_event,
)
from operators.datagrant.build import (
    Access,
    GranteeView,
    Observed,
    ProductView,
    access_ends,
    build_copy_job,
    build_copy_run,
    build_status,
    copy_needs_hash_key,
    expired_outcome,
    parse_time,
    plan_copies,
    revokes,
    starts_new_copy,
    validate,
)
from operators.datagrant.names import GrantNames
from operators.reconciling.audit import record
from operators.reconciling.conditions import (
    READY,
    Outcome,
    Problem,
    invalid_spec_status,
    rfc3339,
)
from operators.reconciling.errors import NotReadyError
from operators.reconciling.openbao_guard import (
    OpenBaoNotServingError,
    openbao_guarded,
    require_openbao,
)
from operators.runs.owner import carry_out, observe_runs
from operators.runs.plan import Plan, RunHistory

HASH_KEY_BYTES = 32
INVALID_EXPIRY = Problem("InvalidExpiry", "spec.expiresAt is not a time")
OPENBAO_RETRY_SECONDS = 3


def product_view(ctx: OperatorContext, body: Mapping[str, Any], namespace: str) -> ProductView:
    """The product's readiness, grade, serving version and columns (with their grades)."""
    spec, status = body.get("spec") or {}, body.get("status") or {}
    ready: dict[str, Any] = next(
        (c for c in status.get("conditions") or [] if c.get("type") == READY), {}
    )
    grade = status.get("computedGrade") or status.get("grade") or spec.get("grade")
    serving = status.get("lastGoodVersion")
    if serving is None:
        serving = status.get("tableVersion")
    table = spec["targetTable"]
    found = table_columns(ctx.settings, table_path(namespace, table), serving)
    # Column grades from a classify pass where the product has one; else every column takes
    # the table's grade (the highest of its columns: 就高从严).
    classified = {
        c["name"]: int(c["grade"])
        for c in ((status.get("classification") or {}).get("columns") or [])
        if c.get("grade") is not None
    }
    columns = (
        [ProductColumn(name, spark, classified.get(name, int(grade or 1))) for name, spark in found]
        if found is not None
        else None
    )
    return ProductView(
        name=body["metadata"]["name"],
        ready=ready.get("status") == "True",
        ready_message=str(ready.get("message") or "no Ready condition yet"),
        grade=int(grade) if grade is not None else None,
        serving_version=int(serving) if serving is not None else None,
        table=table,
        columns=columns,
    )


def grantee_view(ctx: OperatorContext, grant: DataGrant) -> GranteeView:
    grantee = grant.spec.grantee
    if grantee.kind == GranteeKind.TENANT:
        tenant = get(ctx.api, API_VERSION, "Tenant", grantee.name)
        if tenant is None:
            return GranteeView(False)
        return GranteeView(True, int((tenant.get("spec") or {}).get("clearance", 2)))
    if grantee.kind == GranteeKind.SERVICE_ACCOUNT:
        account = get(ctx.api, "v1", "ServiceAccount", grantee.name, grant.namespace)
        return GranteeView(account is not None)
    return GranteeView(False)


def read_approval(ctx: OperatorContext, grant: DataGrant) -> dict[str, Any] | None:
    ref = grant.spec.export_approval
    return get(ctx.api, API_VERSION, "ExportApproval", ref.name, grant.namespace) if ref else None


def observe(
    grant: DataGrant,
    ctx: OperatorContext,
    history: RunHistory,
    approval: Mapping[str, Any] | None,
) -> Observed:
    """Dereference the product, the grantee and the approval (one GET each)."""
    body = get(ctx.api, API_VERSION, "DataProduct", grant.spec.product.name, grant.namespace)
    product = product_view(ctx, body, grant.namespace) if body is not None else None
    return Observed(product, grantee_view(ctx, grant), approval, history)


def grantee_text(grant: DataGrant) -> str:
    grantee = grant.spec.grantee
    return f"{grantee.kind} {grantee.name}"


def ensure_hash_key(ctx: OperatorContext, names: GrantNames) -> None:
    """The grant's HASH-mask key in OpenBao (made once, kept for the grant's life)."""
    if ctx.openbao.read_kv(names.hash_key_path) is None:
        ctx.openbao.write_kv(names.hash_key_path, {"key": secrets.token_hex(HASH_KEY_BYTES)})


def store_credential(
    ctx: OperatorContext, names: GrantNames, credential: Credential, now: dt.datetime
) -> None:
    ttl = int((credential.expires - now).total_seconds()) + 1
    ctx.openbao.write_kv_with_ttl(
        names.credential_path, credential.record(names, ctx.settings.s3_endpoint), ttl
    )


def ensure_credentials(
    ctx: OperatorContext,
    grant: DataGrant,
    names: GrantNames,
    ends: dt.datetime,
    now: dt.datetime,
) -> Access:
    """Issue, adopt or renew the grant's credentials; returns what is in place."""
    stored = Credential.from_record(ctx.openbao.read_kv(names.credential_path))
    if stored is not None and stored.access_key != names.access_key:
        stored = None  # left by an older grant of the same name: replaced below
    policy = build_s3_policy(names)
    description = f"DataGrant {grant.namespace}/{grant.name}"
    if stored is None:
        credential = Credential(
            names.access_key, secrets.token_urlsafe(30), credential_expiry(now, ends)
        )
        # Recorded before anything is vended (fail closed), the secret in OpenBao before the
        # account exists: a crash in between is adopted.
        record(ctx, issued_event(names, grantee_text(grant), credential.expires))
        store_credential(ctx, names, credential, now)
        ctx.accounts.issue(
            credential.access_key, credential.secret_key, policy, credential.expires, description
        )
    elif needs_renewal(stored.expires, ends, now):
        credential = Credential(stored.access_key, stored.secret_key, credential_expiry(now, ends))
        record(ctx, renewed_event(names, credential.expires))
        # MinIO first: if the KV write fails, the KV still says the earlier expiry and the next
        # pass renews again.
        if ctx.accounts.works(
            stored.access_key, stored.secret_key, names.bucket, names.governed_prefix
        ):
            ctx.accounts.extend(credential.access_key, policy, credential.expires)
        else:
            ctx.accounts.issue(
                credential.access_key,
                credential.secret_key,
                policy,
                credential.expires,
                description,
            )
        store_credential(ctx, names, credential, now)
    else:
        credential = stored
        if not ctx.accounts.works(
            stored.access_key, stored.secret_key, names.bucket, names.governed_prefix
        ):
            # Stored but not (or no longer) an account: a crash after the KV write, or drift.
            ctx.accounts.issue(
                stored.access_key, stored.secret_key, policy, stored.expires, description
            )
    ctx.openbao.put_policy(names.openbao_policy, build_openbao_policy(names))
    ctx.openbao.put_kubernetes_role(
        names.openbao_role, build_openbao_role(names, grant.spec.grantee)
    )
    return Access(ends, credential.expires, True)


def revoke_credentials(ctx: OperatorContext, names: GrantNames) -> None:
    """S3 first (the data), then the grantee's way into OpenBao, then the secret."""
    ctx.accounts.revoke(names.access_key)
    require_openbao(ctx)
    ctx.openbao.delete_kubernetes_role(names.openbao_role)
    ctx.openbao.delete_policy(names.openbao_policy)
    ctx.openbao.delete_kv(names.credential_path)


def previous_access(grant: DataGrant, ends: dt.datetime | None) -> Access:
    """The access the last written status recorded (for a pass that could not look)."""
    status = grant.status
    return Access(
        ends,
        parse_time(status.get("credentialExpiresAt")),
        bool(status.get("credentialPath")),
    )


def settle(
    ctx: OperatorContext,
    grant: DataGrant,
    plan: Plan,
    history: RunHistory,
    reason: str,
    now: dt.datetime,
) -> RunHistory:
    """Cancel and prune as planned, recording nothing."""

    def no_job() -> GovernedCopyJob:
        raise AssertionError("settle records no run")

    plan.create = None
    return carry_out(
        ctx,
        grant,
        plan,
        history,
        no_job,
        lambda job, g, s: build_copy_run(grant, job, g, s),
        reason,
        now,
    )


def reconcile(body: Mapping[str, Any], ctx: OperatorContext, now: dt.datetime) -> dict[str, Any]:
    """One pass; returns the status to write."""
    try:
        grant = DataGrant.from_body(body)
    except ValidationError as error:
        return invalid_spec_status(body, error, now)
    names = GrantNames(grant.namespace, grant.name, grant.uid)
    history = observe_runs(ctx, grant)
    approval = read_approval(ctx, grant)
    ends = access_ends(grant, approval)
    if ends is not None and ends <= now:
        return expire(ctx, grant, names, history, ends, now)
    seen = observe(grant, ctx, history, approval)
    bundle = grade_bundle()
    problems = validate(grant, seen, bundle, now)
    product = seen.product
    plan = plan_copies(
        history,
        product.serving_version if product else None,
        not revokes(problems),
        now,
    )
    if problems:
        plan.create = None
    hash_key = product is not None and not problems and copy_needs_hash_key(grant, product, bundle)

    def access_step() -> Access:
        require_openbao(ctx)
        if revokes(problems) or ends is None:
            revoke_credentials(ctx, names)
            record(ctx, refused_event(names, grant.generation, problems or [INVALID_EXPIRY]))
            if grant.status.get("credentialPath"):
                why = problems[0].reason if problems else INVALID_EXPIRY.reason
                record(ctx, revoked_event(names, grant.generation, why, "the grant was refused"))
            return Access(ends, None, False)
        if hash_key:
            ensure_hash_key(ctx, names)
        # Waiting for the product (between versions, or before its first) still issues and
        # renews: the credentials read only the governed copy, which holds nothing else.
        return ensure_credentials(ctx, grant, names, ends, now)

    access = openbao_guarded(ctx, access_step)
    if isinstance(access, OpenBaoNotServingError):
        plan.create = None  # nothing new starts while OpenBao cannot vouch for it
        history = settle(ctx, grant, plan, history, "", now)
        outcome = Outcome(False, access.reason, str(access), degraded=True)
        return build_status(
            grant, names, seen, history, plan, problems, previous_access(grant, ends), now, outcome
        )
    if starts_new_copy(history, plan):
        ctx.store.remove_prefix(names.bucket, names.governed_prefix)

    def job() -> GovernedCopyJob:
        assert product is not None  # a copy is only planned once the product is found
        return build_copy_job(grant, product, names, hash_key)

    history = carry_out(
        ctx,
        grant,
        plan,
        history,
        job,
        lambda job, generation, sequence: build_copy_run(grant, job, generation, sequence),
        "the grant no longer allows this copy",
        now,
    )
    return build_status(grant, names, seen, history, plan, problems, access, now)


def expire(
    ctx: OperatorContext,
    grant: DataGrant,
    names: GrantNames,
    history: RunHistory,
    ends: dt.datetime,
    now: dt.datetime,
) -> dict[str, Any]:
    """Access ended: revoke the credentials and stop any copy."""
    plan = Plan(cancel=history.live, prune=history.to_prune(1))

    def step() -> Access:
        revoke_credentials(ctx, names)
        record(
            ctx,
            revoked_event(names, grant.generation, "Expired", f"access ended at {rfc3339(ends)}"),
        )
        return Access(ends, None, False)

    revoked = openbao_guarded(ctx, step)
    history = settle(ctx, grant, plan, history, "the grant expired", now)
    if isinstance(revoked, OpenBaoNotServingError):
        outcome = Outcome(False, revoked.reason, f"expired; revoking: {revoked}", degraded=True)
        return build_status(
            grant, names, None, history, plan, [], previous_access(grant, ends), now, outcome
        )
    return build_status(grant, names, None, history, plan, [], revoked, now, expired_outcome(ends))


def clean_up(body: Mapping[str, Any], ctx: OperatorContext) -> str:
    """On deletion: revoke the credentials, delete the HASH key and the governed copy."""
    meta = body["metadata"]
    names = GrantNames(meta["namespace"], meta["name"], meta["uid"])
    try:
        revoke_credentials(ctx, names)
        ctx.openbao.delete_kv(names.hash_key_path)
        generation = int(meta.get("generation") or 1)
        record(ctx, revoked_event(names, generation, "Deleted", "the grant was deleted"))
    except OpenBaoNotServingError as error:
        raise NotReadyError(error.reason, str(error), OPENBAO_RETRY_SECONDS) from error
    except VaultDown as error:
        raise NotReadyError("OpenBaoSealed", "OpenBao is sealed", OPENBAO_RETRY_SECONDS) from error
    removed = ctx.store.remove_prefix(names.bucket, names.governed_prefix)
    return (
        f"revoked access key {names.access_key}, OpenBao policy and role {names.openbao_policy}; "
        f"removed the governed copy ({removed} objects)"
    )
