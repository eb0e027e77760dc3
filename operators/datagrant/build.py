"""Pure decisions for a DataGrant: its problems, when its access ends, which governed-copy run to
create, cancel or prune, the copy job, and its status."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from nidc.api.addressing import table_path
from nidc.api.data_grant import DataGrant, GranteeKind
from nidc.api.job_specs import CopyColumn, GovernedCopyJob, JobSpecBase
from nidc.governance.grade_bundle import GradeBundle
from nidc.governance.masking import (
    MaskError,
    ProductColumn,
    check_row_filter,
    governed_columns,
    needs_hash_key,
)
from operators.datagrant.names import GrantNames
from operators.reconciling.conditions import (
    Outcome,
    Problem,
    build_conditions,
    problem_outcome,
    rfc3339,
)
from operators.runs.plan import Plan, RunHistory, failure_message, live_message, run_status_fields
from operators.runs.record import RecordedRun, build_run_record, format_time

# A failed copy is tried again after this long unless the product has a newer version.
RETRY_AFTER_FAILURE = dt.timedelta(minutes=5)
HISTORY_LIMIT = 3
# Problems during which a grantee keeps the access it has (the last governed copy, its
# credentials): the product is between versions. Every other problem revokes.
WAITING_REASONS = frozenset({"ProductNotReady", "SchemaUnknown"})


def parse_time(value: str | None) -> dt.datetime | None:
    """An RFC 3339 time as an aware datetime (None when absent or unparseable)."""
    if not value:
        return None
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


@dataclass(frozen=True)
class ProductView:
    """The granted product as the grant needs it."""

    name: str
    ready: bool
    ready_message: str
    grade: int | None
    serving_version: int | None  # what downstream reads: the last good version, else latest
    table: str  # layer.name
    columns: list[ProductColumn] | None  # None: the table's schema could not be read yet


@dataclass(frozen=True)
class GranteeView:
    """The grantee as found: whether it exists, and a tenant's clearance."""

    exists: bool
    clearance: int | None = None


@dataclass(frozen=True)
class Observed:
    """What the grant refers to, as found now."""

    product: ProductView | None
    grantee: GranteeView
    approval: Mapping[str, Any] | None
    history: RunHistory


def crosses_tenant(grant: DataGrant) -> bool:
    """Whether the grantee is another tenant than the grant's own."""
    grantee = grant.spec.grantee
    return grantee.kind == GranteeKind.TENANT and grantee.name != grant.namespace


def approval_problem(
    approval: Mapping[str, Any] | None, grant: DataGrant, grade: int, now: dt.datetime
) -> str:
    """Why the named ExportApproval does not cover this grant ('' when it does)."""
    if grant.spec.export_approval is None:
        return "spec.exportApproval names no ExportApproval"
    name = grant.spec.export_approval.name
    if approval is None:
        return f"ExportApproval {name} not found"
    spec = approval.get("spec") or {}
    if grant.spec.product.name not in (spec.get("products") or []):
        return f"ExportApproval {name} does not list {grant.spec.product.name} in spec.products"
    if int(spec.get("maxGrade", 0)) < grade:
        return f"ExportApproval {name} covers up to grade {spec.get('maxGrade')}, not {grade}"
    destination = spec.get("destination")
    if destination and destination != grant.spec.grantee.name:
        return (
            f"ExportApproval {name} allows destination {destination}, not {grant.spec.grantee.name}"
        )
    expires = parse_time(str(spec.get("expiresAt", "")))
    if expires is None or expires <= now:
        return f"ExportApproval {name} expired at {spec.get('expiresAt')}"
    return ""


def access_ends(grant: DataGrant, approval: Mapping[str, Any] | None) -> dt.datetime | None:
    """When access ends: the grant's expiry, or the approval's where it lapses earlier."""
    ends = parse_time(grant.spec.expires_at)
    if ends is None or approval is None:
        return ends
    approved_until = parse_time(str((approval.get("spec") or {}).get("expiresAt", "")))
    return min(ends, approved_until) if approved_until is not None else ends


def validate_grantee(grant: DataGrant, seen: Observed, grade: int) -> list[Problem]:
    grantee = grant.spec.grantee
    if grantee.kind == GranteeKind.GROUP:
        return [
            Problem(
                "GranteeKindUnsupported",
                f"spec.grantee: group {grantee.name} has no service accounts to hold "
                "credentials; grant a Tenant or a ServiceAccount",
            )
        ]
    if not seen.grantee.exists:
        where = "" if grantee.kind == GranteeKind.TENANT else f" in namespace {grant.namespace}"
        return [
            Problem(
                "GranteeNotFound", f"spec.grantee: {grantee.kind} {grantee.name} not found{where}"
            )
        ]
    clearance = seen.grantee.clearance
    if crosses_tenant(grant) and clearance is not None and clearance < grade:
        return [
            Problem(
                "ClearanceTooLow",
                f"spec.grantee: tenant {grantee.name} may hold data up to grade {clearance}; "
                f"{grant.spec.product.name} is grade {grade}",
            )
        ]
    return []


def validate_columns(grant: DataGrant, product: ProductView, bundle: GradeBundle) -> list[Problem]:
    if product.columns is None:
        return [Problem("SchemaUnknown", f"the table of {product.name} has no readable schema yet")]
    spec = grant.spec
    names = [c.name for c in product.columns]
    problems = []
    try:
        governed_columns(product.columns, spec.columns, spec.masks, bundle)
    except MaskError as error:
        reason = "ColumnNotFound" if "is not a column" in str(error) else "InvalidMask"
        problems.append(Problem(reason, f"spec: {error}"))
    if spec.row_filter is not None:
        problem = check_row_filter(spec.row_filter, names)
        if problem:
            problems.append(Problem("InvalidRowFilter", f"spec.rowFilter: {problem}"))
    return problems


def validate(
    grant: DataGrant, seen: Observed, bundle: GradeBundle, now: dt.datetime
) -> list[Problem]:
    """Why the grant cannot be served (pure; [] when nothing keeps it)."""
    ends = parse_time(grant.spec.expires_at)
    if ends is None:
        return [
            Problem("InvalidExpiry", f"spec.expiresAt: {grant.spec.expires_at!r} is not a time")
        ]
    product = seen.product
    if product is None:
        return [
            Problem(
                "ProductNotFound", f"spec.product: DataProduct {grant.spec.product.name} not found"
            )
        ]
    if product.grade is None:
        return [
            Problem(
                "GradeUnknown",
                f"{product.name} has no grade yet; nothing is granted before it is graded",
            )
        ]
    problems = validate_grantee(grant, seen, product.grade)
    if crosses_tenant(grant) and bundle.controls(product.grade).sharing.export_approval:
        problem = approval_problem(seen.approval, grant, product.grade, now)
        if problem:
            problems.append(
                Problem(
                    "ExportApprovalRequired",
                    f"{product.name} is grade {product.grade} data leaving tenant "
                    f"{grant.namespace}: {problem}",
                )
            )
    if not product.ready:
        problems.append(
            Problem(
                "ProductNotReady",
                f"DataProduct {product.name} is not Ready: {product.ready_message}",
            )
        )
    problems.extend(validate_columns(grant, product, bundle))
    return problems


def revokes(problems: list[Problem]) -> bool:
    """Whether the problems end the grantee's access (anything but waiting for the product)."""
    return any(p.reason not in WAITING_REASONS for p in problems)


def copy_needs_hash_key(grant: DataGrant, product: ProductView, bundle: GradeBundle) -> bool:
    """Whether the copy serves a column hashed (the grant then needs its HASH key)."""
    columns = product.columns or []
    return needs_hash_key(governed_columns(columns, grant.spec.columns, grant.spec.masks, bundle))


def build_copy_job(
    grant: DataGrant, product: ProductView, names: GrantNames, hash_key: bool
) -> GovernedCopyJob:
    """The governed-copy job of the product's serving version (no credentials: only the
    OpenBao path of the HASH key, which the runner reads)."""
    if product.serving_version is None or product.columns is None:
        raise ValueError("a copy needs the product's version and schema")
    spec = grant.spec
    return GovernedCopyJob(
        tenant=grant.namespace,
        source=table_path(grant.namespace, product.table),
        source_version=product.serving_version,
        target=names.governed_path,
        columns=[
            CopyColumn(name=c.name, spark_type=c.spark_type, grade=c.grade) for c in product.columns
        ],
        granted_columns=list(spec.columns),
        masks=list(spec.masks),
        row_filter=spec.row_filter,
        hash_key_path=names.hash_key_api_path if hash_key else None,
        txn_app_id=grant.uid,
        txn_version=product.serving_version,
    )


def build_copy_run(
    grant: DataGrant, job: JobSpecBase, generation: int, sequence: int
) -> dict[str, Any]:
    """The PipelineRun recording one copy, owned by the grant."""
    return build_run_record(grant, job, generation, sequence)


def source_version(run: RecordedRun) -> int:
    """The product version a recorded copy run copies."""
    return int(run.job.get("sourceVersion", -1))


def copied_version(history: RunHistory) -> int | None:
    """The newest product version a succeeded copy of this generation holds."""
    versions = [source_version(r) for r in history.current if r.succeeded]
    return max(versions) if versions else None


def plan_copies(
    history: RunHistory, serving_version: int | None, allowed: bool, now: dt.datetime
) -> Plan:
    """One copy at a time; a new one when the product serves a version the copy lacks or the
    grant changed (a new generation); a refused grant cancels the live copy."""
    plan = Plan()
    plan.prune = history.to_prune(HISTORY_LIMIT)
    if not allowed:
        plan.cancel = history.live
        return plan
    if history.older_live:
        plan.cancel = history.older_live
        return plan
    if history.live:
        return plan
    if serving_version is None:
        plan.waiting = "waiting for the product's first version"
        return plan
    current = history.current
    if not current:
        plan.create = history.next_key()
        return plan
    latest = current[-1]
    if latest.succeeded and serving_version <= source_version(latest):
        return plan
    if latest.failed and serving_version <= source_version(latest):
        retry_at = (latest.finished_at or latest.started_at or now) + RETRY_AFTER_FAILURE
        if now < retry_at:
            plan.next_run = retry_at
            plan.waiting = f"the last copy failed; next attempt at {format_time(retry_at)}"
            return plan
    plan.create = history.next_key()
    return plan


def starts_new_copy(history: RunHistory, plan: Plan) -> bool:
    """Whether the planned run is the first of a new generation while an older copy exists:
    the old copy (other columns, rows or masks) goes first, so that a narrowed grant's
    grantee cannot time-travel back to what it no longer may read."""
    if plan.create is None or plan.create[1] != 0:
        return False
    return any(r.generation < plan.create[0] for r in history.ordered)


@dataclass(frozen=True)
class Access:
    """The access a pass left in place (None fields: none)."""

    ends: dt.datetime | None
    credential_expires: dt.datetime | None
    issued: bool


def access_fields(names: GrantNames, access: Access) -> dict[str, Any]:
    fields: dict[str, Any] = {"expiresAt": format_time(access.ends)}
    if access.issued:
        fields.update(
            credentialPath=names.credential_api_path,
            openBaoPolicy=names.openbao_policy,
            openBaoRole=names.openbao_role,
            credentialExpiresAt=format_time(access.credential_expires),
        )
    else:
        fields.update(
            credentialPath=None, openBaoPolicy=None, openBaoRole=None, credentialExpiresAt=None
        )
    return fields


def outcome_of(
    history: RunHistory,
    plan: Plan,
    product: ProductView | None,
    problems: list[Problem],
    access: Access,
) -> Outcome:
    held = copied_version(history)
    live = bool(history.live)
    finished = [r for r in history.current if r.terminal]
    if problems:
        outcome = problem_outcome(problems)
        if not revokes(problems):
            return Outcome(False, outcome.reason, outcome.message, progressing=True)
        return outcome
    if finished and finished[-1].failed and not live:
        held_text = f"; the copy still holds version {held}" if held is not None else ""
        return Outcome(
            False, "RunFailed", failure_message(finished[-1], "copy") + held_text, degraded=True
        )
    if held is not None and access.issued:
        serving = product.serving_version if product is not None else None
        behind = f"; copying version {serving}" if serving is not None and serving > held else ""
        return Outcome(
            True,
            "Granted",
            f"version {held} of the governed copy readable until "
            f"{format_time(access.credential_expires)} (credentials renewed until "
            f"{format_time(access.ends)})" + behind,
            progressing=live or bool(behind),
        )
    message = plan.waiting or live_message(history, "copy") or "making the governed copy"
    return Outcome(False, "Copying", message, progressing=True)


def build_status(
    grant: DataGrant,
    names: GrantNames,
    seen: Observed | None,
    history: RunHistory,
    plan: Plan,
    problems: list[Problem],
    access: Access,
    now: dt.datetime,
    override: Outcome | None = None,
) -> dict[str, Any]:
    """DataGrant.status (pure; the clock passed in). `override`: an outcome decided outside
    the grant's own state (expired, OpenBao sealed)."""
    product = seen.product if seen is not None else None
    status: dict[str, Any] = {"observedGeneration": grant.generation}
    if product is not None:
        status["grade"] = product.grade
    status["governedCopyPath"] = names.governed_path
    held = copied_version(history)
    if held is not None:
        status["copiedVersion"] = held
    status.update(run_status_fields(history, plan.next_run))
    status.update(access_fields(names, access))
    outcome = override or outcome_of(history, plan, product, problems, access)
    status["conditions"] = build_conditions(
        grant.previous_conditions, outcome, grant.generation, rfc3339(now)
    )
    return status


def expired_outcome(ends: dt.datetime) -> Outcome:
    return Outcome(
        False, "Expired", f"access ended at {format_time(ends)}; its credentials are revoked"
    )
