"""The I/O of a table owner's classify runs: the policies they read, and recording them.

Pure planning is in classify_plan.py. A DataSource and a DataProduct call, in this order:
`plan_owner_classify` after planning their writing run, `hold_writer` before carrying it out,
`carry_out_classify` after it, and `add_classification_status` once their status is built.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from nidc.api.classification_policy import DEFAULT_RESAMPLE_MINUTES
from nidc.api.schema import API_VERSION
from nidc.governance.classify_job import build_classify_job
from nidc.kube import list_objects
from operators.clients.context import OperatorContext
from operators.reconciling.audit import record as record_audit
from operators.reconciling.conditions import build_conditions, rfc3339
from operators.reconciling.events import post_event
from operators.runs.classify_plan import (
    ClassifyKey,
    ClassifyPlan,
    TableOwner,
    build_classify_run,
    classification_status,
    classify_outcome,
    grade_audit_event,
    grade_change,
    plan_classify,
    policies_hash,
)
from operators.runs.owner import carry_out
from operators.runs.plan import Plan, RunHistory


@dataclass(frozen=True)
class Policies:
    """What a classify run of the owner's table reads besides the table, and their digest."""

    policies: list[dict[str, Any]]
    approvals: list[dict[str, Any]]
    digest: str | None
    # The shortest resampleMinutes of the policies that apply (decision 0320).
    resample_after: dt.timedelta = dt.timedelta(0)


def observe_policies(owner: TableOwner, ctx: OperatorContext) -> Policies:
    """The cluster's and the namespace's classification policies and the ExportApprovals."""
    policies = list_objects(ctx.api, API_VERSION, "ClusterClassificationPolicy") + list_objects(
        ctx.api, API_VERSION, "ClassificationPolicy", namespace=owner.namespace
    )
    approvals = list_objects(ctx.api, API_VERSION, "ExportApproval", namespace=owner.namespace)
    digest = policies_hash(owner, policies, approvals) if policies else None
    minutes = min(
        (
            int((p.get("spec") or {}).get("resampleMinutes", DEFAULT_RESAMPLE_MINUTES))
            for p in policies
        ),
        default=0,
    )
    return Policies(policies, approvals, digest, dt.timedelta(minutes=minutes))


def plan_owner_classify(
    ctx: OperatorContext,
    owner: TableOwner,
    writes: RunHistory,
    classify: RunHistory,
    blocked: bool,
    now: dt.datetime,
) -> tuple[Policies, ClassifyPlan]:
    """The policies and the classify run due now. `writes` are the runs that write the table
    (ingest or transform). Policies are listed only when a classify run could be due: a table
    version exists, nothing writes it now and the owner is not blocked by a problem."""
    if writes.last_succeeded is not None and not writes.live and not blocked:
        policies = observe_policies(owner, ctx)
        planned = plan_classify(writes, classify, policies.digest, policies.resample_after, now)
        return policies, planned
    return Policies([], [], owner.status.get("policiesHash")), ClassifyPlan()


def hold_writer(writing: Plan, classifying: ClassifyPlan, classify: RunHistory) -> bool:
    """One writer per table: no writing run is recorded while a classify run is due or live
    (the classify run wakes the owner when it ends). True when the writer was held."""
    if classifying.plan.create is None and not classify.live:
        return False
    writing.create = None
    writing.waiting = writing.waiting or classifying.plan.waiting or "classifying the table"
    return True


def carry_out_classify(
    ctx: OperatorContext,
    owner: TableOwner,
    classifying: ClassifyPlan,
    classify: RunHistory,
    policies: Policies,
    now: dt.datetime,
) -> RunHistory:
    """Record the due classify run (create-or-adopt by its key's name) and prune old ones."""
    key = classifying.key
    if key is None:
        classifying.plan.create = None
    return carry_out(
        ctx,
        owner,
        classifying.plan,
        classify,
        lambda: build_classify_job(owner, policies.policies, policies.approvals),
        lambda job, generation, sequence: build_classify_run(
            owner, job, key or ClassifyKey(0, ""), generation, sequence, classifying.columns_digest
        ),
        "superseded",
        now,
    )


def add_classification_status(
    ctx: OperatorContext,
    body: dict[str, Any],
    owner: TableOwner,
    status: dict[str, Any],
    classify: RunHistory,
    policies: Policies,
    now: dt.datetime,
) -> None:
    """Grade and classification into the owner's status; Degraded when the newest classify run
    failed; a changed grade audited (before the status that makes it durable) and announced."""
    status.update(classification_status(owner, classify))
    ready: dict[str, Any] = next((c for c in status["conditions"] if c["type"] == "Ready"), {})
    degraded = classify_outcome(ready, classify)
    if degraded is not None:
        status["conditions"] = build_conditions(
            owner.previous_conditions, degraded, owner.generation, rfc3339(now)
        )
    if policies.digest is not None:
        status["policiesHash"] = policies.digest
    change = grade_change(owner.status, status)
    if change is not None:
        audited = grade_audit_event(body, owner.status, status)
        if audited is not None:
            record_audit(ctx, audited)
        post_event(ctx.api, body, "GradeChanged", change, warning=False)
