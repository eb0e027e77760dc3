"""Reconcile a Tenant: dereference, validate, build (pure), apply, then status.

Every side effect is create-or-adopt under a name derived from the tenant's name, so running
this any number of times, or after a crash at any line, converges on the same result.
"""

from __future__ import annotations

import secrets
from typing import Any

from pydantic import ValidationError

from nidc.api.tenant import DeletionPolicy, TenantSpec
from operators.apply import apply_all
from operators.conditions import Outcome, build_conditions
from operators.context import OperatorContext
from operators.tenant.build import (
    TenantNames,
    build_children,
    build_openbao_policy,
    build_openbao_role,
    build_s3_policy,
)

RESERVED_NAMES = ("default", "nidc-system")
RESERVED_PREFIXES = ("kube-", "openshift-")


def validate(name: str, body: dict[str, Any]) -> tuple[TenantSpec | None, str | None]:
    """The typed spec, or the reason it cannot be reconciled (pure)."""
    if name in RESERVED_NAMES or name.startswith(RESERVED_PREFIXES):
        return None, f"the name {name!r} is reserved for the platform"
    try:
        return TenantSpec.model_validate(body.get("spec", {})), None
    except ValidationError as error:
        return None, f"spec does not validate: {error.errors()[0]['msg']}"


def build_status(body: dict[str, Any], names: TenantNames, outcome: Outcome) -> dict[str, Any]:
    """The Tenant's status (pure)."""
    previous = (body.get("status") or {}).get("conditions") or []
    generation = int(body["metadata"].get("generation", 1))
    status: dict[str, Any] = {
        "observedGeneration": generation,
        "conditions": build_conditions(previous, outcome, generation),
    }
    if outcome.ready:
        status.update(
            namespace=names.namespace,
            bucket=names.bucket,
            openBaoPolicy=names.openbao_policy,
            openBaoRole=names.openbao_role,
        )
    return status


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


def reconcile(body: dict[str, Any], ctx: OperatorContext) -> dict[str, Any]:
    """Close the gap between a Tenant and the world; returns the status to write."""
    name = body["metadata"]["name"]
    names = TenantNames(name)
    spec, problem = validate(name, body)
    if spec is None:
        return build_status(
            body, names, Outcome(False, "InvalidSpec", problem or "", degraded=True)
        )
    apply_all(ctx.api, build_children(name, spec), owner=body)
    ensure_storage(ctx, names)
    ensure_openbao(ctx, names)
    return build_status(
        body,
        names,
        Outcome(
            True,
            "Provisioned",
            f"namespace {names.namespace}, bucket {names.bucket}, "
            f"OpenBao role {names.openbao_role} are in place",
        ),
    )


def clean_up(body: dict[str, Any], ctx: OperatorContext) -> str:
    """On deletion: remove access always, data only under deletionPolicy Delete."""
    names = TenantNames(body["metadata"]["name"])
    policy = (body.get("spec") or {}).get("deletionPolicy", DeletionPolicy.RETAIN.value)
    ctx.openbao.delete_kubernetes_role(names.openbao_role)
    ctx.openbao.delete_policy(names.openbao_policy)
    ctx.store.remove_user(names.s3_user)
    ctx.store.remove_policy(names.s3_user)
    if policy == DeletionPolicy.DELETE.value:
        ctx.store.remove_bucket(names.bucket)
        ctx.openbao.delete_kv_tree(names.openbao_prefix)
        return f"removed access and data (bucket {names.bucket}, secrets {names.openbao_prefix})"
    return f"removed access; kept bucket {names.bucket} and secrets (deletionPolicy Retain)"
