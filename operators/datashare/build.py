"""Pure decisions for a DataShare: what each recipient may be served under the grade bundle,
and the share's status.

Per recipient and product, in order (the first rule that refuses names itself):
1. the product exists and has a grade (its status.grade, the computed one once classified);
2. `sharing.leavesRegion` false (grade 3): no recipient outside the provider's home region;
3. `sharing.externalShare` false (grade 3): no recipient other than the providing tenant;
4. `sharing.exportApproval` true (grade 2, 3) and a recipient outside the tenant: the share's
   spec.exportApproval lists the product, covers its grade, names the recipient or no
   destination, and has not expired;
5. what is served: a Tenant recipient reads the governed copy of the DataGrant (in the share's
   namespace) that grants the product to that tenant, so its columns, row filter and masks
   apply; a Region recipient (a regional center) gets only what the bundle serves without a
   grant (`sharing.grantRequired` false: grade 1), the product's table at its last good version.
A recipient with any refusing problem gets nothing: no token, no table.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from nidc.api.addressing import TenantNames, table_key
from nidc.api.data_share import DataShare, Recipient, RecipientKind, SharedTable
from nidc.governance.export_approval import approval_expiry, approval_problem
from nidc.governance.grade_bundle import GradeBundle
from operators.reconciling.conditions import (
    Outcome,
    Problem,
    build_conditions,
    problem_outcome,
    rfc3339,
)

# A DataGrant not Ready for one of these reasons still serves the copy it holds (the product
# is between versions, or the first copy is being made): the share waits with it. Any other
# reason (expired, refused, revoked) ends what the share serves from it.
GRANT_WAITING_REASONS = frozenset({"ProductNotReady", "SchemaUnknown", "Copying"})
BUNDLE = "policies/grades.yaml"


@dataclass(frozen=True)
class ProductView:
    """A shared product as the share needs it."""

    name: str
    grade: int | None
    table: str  # layer.name
    serving_version: int | None  # the last good version, else the latest


@dataclass(frozen=True)
class GrantView:
    """The DataGrant that gives one product to one tenant recipient."""

    name: str
    ready: bool
    reason: str
    message: str
    governed_copy_path: str | None
    copied_version: int | None


@dataclass(frozen=True)
class RecipientView:
    """A recipient as found: whether it exists (tenants), and its home region."""

    exists: bool
    region: str | None


@dataclass(frozen=True)
class Observed:
    """What the share refers to, as found now."""

    provider_region: str | None
    products: Mapping[str, ProductView]
    recipients: Mapping[tuple[str, str], RecipientView]
    grants: Mapping[tuple[str, str], GrantView]  # (tenant, product) -> grant
    approval: Mapping[str, Any] | None


@dataclass
class RecipientDecision:
    """What one recipient is served, or why not."""

    recipient: Recipient
    tables: list[SharedTable] = field(default_factory=list)
    refused: list[Problem] = field(default_factory=list)
    waiting: list[Problem] = field(default_factory=list)
    # The token may not outlive this (the export approval the recipient depends on).
    cap: dt.datetime | None = None

    @property
    def served(self) -> bool:
        """Whether the recipient holds a token after this pass."""
        return not self.refused and bool(self.tables)


def s3_location(path: str) -> str:
    """s3a://bucket/prefix as the sharing server names it: s3://bucket/prefix."""
    return "s3://" + path.split("://", 1)[1] if "://" in path else path


def is_external(share: DataShare, recipient: Recipient) -> bool:
    """Whether the recipient is anyone but the providing tenant itself."""
    return not (recipient.kind == RecipientKind.TENANT and recipient.name == share.namespace)


def grade_rules(
    share: DataShare,
    recipient: Recipient,
    product: ProductView,
    grade: int,
    seen: Observed,
    bundle: GradeBundle,
    now: dt.datetime,
) -> tuple[Problem | None, dt.datetime | None]:
    """The bundle's sharing rules for one product and recipient: the refusing problem (or
    None), and the approval expiry the recipient's token is capped at."""
    controls = bundle.controls(grade)
    rules = controls.sharing
    label = f"{product.name} is grade {grade} ({controls.name})"
    who = f"{recipient.kind} {recipient.name}"
    if not is_external(share, recipient):
        return None, None
    there = seen.recipients.get((recipient.kind, recipient.name))
    region = there.region if there is not None else None
    if not rules.leaves_region and region != seen.provider_region:
        return (
            Problem(
                "CoreDataStaysInRegion",
                f"{label} data of region {seen.provider_region}: {BUNDLE} "
                f"grades.{grade}.sharing.leavesRegion is false, so it is never shared to {who} "
                f"(region {region or 'unknown'})",
            ),
            None,
        )
    if not rules.external_share:
        return (
            Problem(
                "ExternalShareForbidden",
                f"{label} data: {BUNDLE} grades.{grade}.sharing.externalShare is false, so it "
                f"is shared with no one outside tenant {share.namespace} ({who} asked)",
            ),
            None,
        )
    if recipient.kind == RecipientKind.REGION and rules.grant_required:
        return (
            Problem(
                "GrantRequired",
                f"{label} data: {BUNDLE} grades.{grade}.sharing.grantRequired is true and a "
                f"regional center holds no grant; share it with a tenant of region "
                f"{recipient.name} through a DataGrant instead",
            ),
            None,
        )
    if not rules.export_approval:
        return None, None
    ref = share.spec.export_approval
    name = ref.name if ref is not None else None
    problem = approval_problem(seen.approval, name, product.name, grade, recipient.name, now)
    if problem:
        expires = approval_expiry(seen.approval)
        lapsed = seen.approval is not None and expires is not None and expires <= now
        reason = "ExportApprovalExpired" if lapsed else "ExportApprovalRequired"
        return (
            Problem(reason, f"{label} data leaving tenant {share.namespace} for {who}: {problem}"),
            None,
        )
    return None, approval_expiry(seen.approval)


def served_table(
    share: DataShare, recipient: Recipient, product: ProductView, grade: int, seen: Observed
) -> SharedTable | Problem:
    """The table the recipient reads for the product, or why there is none yet (a Problem:
    refusing unless its reason is GrantWaiting)."""
    if recipient.kind == RecipientKind.REGION:
        if product.serving_version is None:
            return Problem(
                "GrantWaiting", f"DataProduct {product.name} has no table version to serve yet"
            )
        location = f"s3://{TenantNames(share.namespace).bucket}/{table_key(product.table)}"
        version = product.serving_version
    else:
        grant = seen.grants.get((recipient.name, product.name))
        if grant is None:
            return Problem(
                "GrantNotFound",
                f"no DataGrant in {share.namespace} grants {product.name} to Tenant "
                f"{recipient.name}: a share serves the recipient's governed copy, so make one "
                "(its columns, row filter and masks are what the recipient reads)",
            )
        if not grant.ready and grant.reason not in GRANT_WAITING_REASONS:
            return Problem(
                "GrantNotReady",
                f"DataGrant {grant.name} ({product.name} for {recipient.name}) is not Ready: "
                f"{grant.reason}: {grant.message}",
            )
        if grant.copied_version is None or grant.governed_copy_path is None:
            return Problem(
                "GrantWaiting",
                f"DataGrant {grant.name} has no governed copy of {product.name} yet",
            )
        location = s3_location(grant.governed_copy_path)
        version = grant.copied_version
    return SharedTable(
        recipient=recipient.name,
        product=product.name,
        schema_name=share.namespace,
        table=product.name,
        location=location,
        version=version,
        grade=grade,
    )


def decide_recipient(
    share: DataShare, recipient: Recipient, seen: Observed, bundle: GradeBundle, now: dt.datetime
) -> RecipientDecision:
    """What one recipient is served (pure)."""
    decision = RecipientDecision(recipient)
    there = seen.recipients.get((recipient.kind, recipient.name))
    if recipient.kind == RecipientKind.TENANT and (there is None or not there.exists):
        decision.refused.append(
            Problem("RecipientNotFound", f"spec.recipients: Tenant {recipient.name} not found")
        )
        return decision
    for ref in share.spec.products:
        product = seen.products.get(ref.name)
        if product is None:
            decision.refused.append(
                Problem("ProductNotFound", f"spec.products: DataProduct {ref.name} not found")
            )
            continue
        if product.grade is None:
            decision.refused.append(
                Problem(
                    "GradeUnknown",
                    f"{product.name} has no grade yet; nothing is shared before it is graded",
                )
            )
            continue
        problem, cap = grade_rules(share, recipient, product, product.grade, seen, bundle, now)
        if problem is not None:
            decision.refused.append(problem)
            continue
        if cap is not None:
            decision.cap = cap if decision.cap is None else min(decision.cap, cap)
        table = served_table(share, recipient, product, product.grade, seen)
        if isinstance(table, SharedTable):
            decision.tables.append(table)
        elif table.reason == "GrantWaiting":
            decision.waiting.append(table)
        else:
            decision.refused.append(table)
    return decision


def decide(
    share: DataShare, seen: Observed, bundle: GradeBundle, now: dt.datetime
) -> list[RecipientDecision]:
    """Every recipient's decision, in spec order (pure)."""
    return [decide_recipient(share, r, seen, bundle, now) for r in share.spec.recipients]


def removed_recipients(share: DataShare) -> list[Recipient]:
    """Recipients the last status lists that the spec no longer names (their tokens go)."""
    wanted = {(r.kind, r.name) for r in share.spec.recipients}
    removed = []
    for entry in share.status.get("recipients") or []:
        kind, name = entry.get("kind") or RecipientKind.TENANT, entry.get("name")
        if name and (kind, name) not in wanted and kind in tuple(RecipientKind):
            removed.append(Recipient(kind=RecipientKind(kind), name=name))
    return removed


@dataclass(frozen=True)
class Held:
    """What a recipient holds after the pass: its profile path and token expiry (no token)."""

    profile_path: str | None
    expires: dt.datetime | None


def outcome_of(
    decisions: list[RecipientDecision], held: Mapping[tuple[str, str], Held], endpoint_set: bool
) -> Outcome:
    refused = [p for d in decisions for p in d.refused]
    if not endpoint_set:
        return Outcome(
            False,
            "SharingNotConfigured",
            "the operator has no sharing server endpoint (NIDC_SHARING_ENDPOINT; `nidc local "
            "env` sets it once the platform runs one): no token is issued",
            degraded=True,
        )
    if refused:
        return problem_outcome(refused)
    waiting = [p for d in decisions for p in d.waiting]
    if waiting:
        return Outcome(False, "Waiting", "; ".join(p.message for p in waiting), progressing=True)
    tables = sum(len(d.tables) for d in decisions)
    ends = [h.expires for h in held.values() if h.expires is not None]
    until = f"; tokens valid until {rfc3339(min(ends))} at the earliest" if ends else ""
    return Outcome(
        True, "Shared", f"{tables} table(s) served to {len(decisions)} recipient(s){until}"
    )


def build_status(
    share: DataShare,
    decisions: list[RecipientDecision],
    held: Mapping[tuple[str, str], Held],
    endpoint_set: bool,
    now: dt.datetime,
    override: Outcome | None = None,
) -> dict[str, Any]:
    """DataShare.status (pure; the clock passed in). `override`: an outcome decided outside
    the share (OpenBao sealed)."""
    recipients = []
    tables: list[dict[str, Any]] = []
    for decision in decisions:
        r = decision.recipient
        mine = held.get((r.kind, r.name)) or Held(None, None)
        entry = {"kind": str(r.kind), "name": r.name}
        if mine.profile_path is not None:
            entry["profilePath"] = mine.profile_path
        if mine.expires is not None:
            entry["expiresAt"] = rfc3339(mine.expires)
        recipients.append(entry)
        if mine.profile_path is not None:
            tables.extend(t.model_dump(by_alias=True, exclude_none=True) for t in decision.tables)
    outcome = override or outcome_of(decisions, held, endpoint_set)
    return {
        "observedGeneration": share.generation,
        "recipients": recipients,
        "tables": tables,
        "conditions": build_conditions(
            share.previous_conditions, outcome, share.generation, rfc3339(now)
        ),
    }
