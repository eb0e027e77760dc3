"""Reconcile a Tenant: typed model, validate (pure), build (pure), apply, then status (pure).

Every side effect is create-or-adopt under a name derived from the tenant's name, so running
this any number of times, or after a crash at any line, converges on the same result.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from nidc.api.addressing import TenantNames
from nidc.api.tenant import DeletionPolicy, Tenant
from operators.clients.context import OperatorContext
from operators.reconciling.apply import apply_all
from operators.reconciling.conditions import (
    Outcome,
    Problem,
    build_conditions,
    invalid_spec_status,
    problem_outcome,
    rfc3339,
)
from operators.tenant.build import (
    build_children,
    build_column_key_policy,
    build_jobs_role,
    build_openbao_policy,
    build_openbao_role,
    build_s3_policy,
)

RESERVED_NAMES = ("default", "nidc-system")
RESERVED_PREFIXES = ("kube-", "openshift-")


def validate(tenant: Tenant) -> list[Problem]:
    """Why the tenant cannot be provisioned (pure; [] when nothing keeps it)."""
    if tenant.name in RESERVED_NAMES or tenant.name.startswith(RESERVED_PREFIXES):
        return [Problem("InvalidSpec", f"the name {tenant.name!r} is reserved for the platform")]
    return []


def build_status(tenant: Tenant, outcome: Outcome, now: dt.datetime) -> dict[str, Any]:
    """The Tenant's status (pure; the clock passed in)."""
    names = TenantNames(tenant.name)
    status: dict[str, Any] = {
        "observedGeneration": tenant.generation,
        "conditions": build_conditions(
            tenant.previous_conditions, outcome, tenant.generation, rfc3339(now)
        ),
    }
    if outcome.ready:
        status.update(
            namespace=names.namespace,
            bucket=names.bucket,
            openBaoPolicy=names.openbao_policy,
            openBaoRole=names.openbao_role,
        )
    return status


def provisioned(names: TenantNames) -> Outcome:
    return Outcome(
        True,
        "Provisioned",
        f"namespace {names.namespace}, bucket {names.bucket}, "
        f"OpenBao role {names.openbao_role} are in place",
    )


def ensure_storage(ctx: OperatorContext, names: TenantNames) -> None:
    """Bucket, S3 policy and the tenant's S3 user, whose credentials only OpenBao holds."""
    ctx.store.ensure_bucket(names.bucket)
    ctx.store.put_policy(names.s3_user, build_s3_policy(names))
    stored = ctx.openbao.read_kv(names.s3_credentials_path)
    if stored is None or not ctx.store.user_exists(names.s3_user):
        # First time, or a crash between the two writes: (re)issue; the user add resets it.
        secret_key = secrets.token_urlsafe(30)
        ctx.store.put_user(names.s3_user, secret_key, names.s3_user)
        ctx.openbao.write_kv(
            names.s3_credentials_path,
            {
                "accessKey": names.s3_user,
                "secretKey": secret_key,
                "endpoint": ctx.settings.s3_endpoint,
                "bucket": names.bucket,
            },
        )
    else:
        ctx.store.put_user(names.s3_user, stored["secretKey"], names.s3_user)


def ensure_openbao(ctx: OperatorContext, names: TenantNames) -> None:
    ctx.openbao.put_policy(names.openbao_policy, build_openbao_policy(names))
    ctx.openbao.put_kubernetes_role(names.openbao_role, build_openbao_role(names))
    # The tenant's transit key (create-or-adopt: never replaced, it wraps every data key of the
    # tenant's encrypted tables) and who may use it: the job service account only.
    ctx.openbao.transit.ensure_key(names.transit_key)
    ctx.openbao.put_policy(names.column_key_policy, build_column_key_policy(names))
    ctx.openbao.put_kubernetes_role(
        names.jobs_role, build_jobs_role(names, ctx.settings.spark_service_account)
    )


def reconcile(
    body: Mapping[str, Any], ctx: OperatorContext, now: dt.datetime | None = None
) -> dict[str, Any]:
    """Close the gap between a Tenant and the world; returns the status to write."""
    now = now or dt.datetime.now(dt.UTC)
    try:
        tenant = Tenant.from_body(body)
    except ValidationError as error:
        return invalid_spec_status(body, error, now)
    problems = validate(tenant)
    if problems:
        return build_status(tenant, problem_outcome(problems), now)
    names = TenantNames(tenant.name)
    apply_all(ctx.api, build_children(tenant.name, tenant.spec), owner=tenant)
    ensure_storage(ctx, names)
    ensure_openbao(ctx, names)
    return build_status(tenant, provisioned(names), now)


def clean_up(body: Mapping[str, Any], ctx: OperatorContext) -> str:
    """On deletion: remove access always, data only under deletionPolicy Delete."""
    names = TenantNames(body["metadata"]["name"])
    try:
        policy = Tenant.from_body(body).spec.deletion_policy
    except ValidationError:
        # A spec that never parsed never got data: keeping is the safe side.
        policy = DeletionPolicy.RETAIN
    ctx.openbao.delete_kubernetes_role(names.openbao_role)
    ctx.openbao.delete_policy(names.openbao_policy)
    # The transit key itself stays: deleting it would make retained data unreadable for good.
    ctx.openbao.delete_kubernetes_role(names.jobs_role)
    ctx.openbao.delete_policy(names.column_key_policy)
    ctx.store.remove_user(names.s3_user)
    ctx.store.remove_policy(names.s3_user)
    if policy == DeletionPolicy.DELETE.value:
        ctx.store.remove_bucket(names.bucket)
        ctx.openbao.delete_kv_tree(names.openbao_prefix)
        return f"removed access and data (bucket {names.bucket}, secrets {names.openbao_prefix})"
    return f"removed access; kept bucket {names.bucket} and secrets (deletionPolicy Retain)"
