"""The I/O of a table owner's classify runs: the policies they read, and recording them.

Pure planning is in classify_plan.py; a DataSource and a DataProduct both call these from their
reconcile, after their own writing run has been carried out.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from nidc.api.schema import API_VERSION
from nidc.governance.classify_job import build_classify_job
from nidc.kube import list_objects
from operators.clients.context import OperatorContext
from operators.runs.classify_plan import ClassifyKey, TableOwner, build_classify_run, policies_hash
from operators.runs.owner import carry_out
from operators.runs.plan import Plan, RunHistory


@dataclass(frozen=True)
class Policies:
    """What a classify run of the owner's table reads besides the table, and their digest."""

    policies: list[dict[str, Any]]
    approvals: list[dict[str, Any]]
    digest: str | None


def observe_policies(owner: TableOwner, ctx: OperatorContext) -> Policies:
    """The cluster's and the namespace's classification policies and the ExportApprovals."""
    policies = list_objects(ctx.api, API_VERSION, "ClusterClassificationPolicy") + list_objects(
        ctx.api, API_VERSION, "ClassificationPolicy", namespace=owner.namespace
    )
    approvals = list_objects(ctx.api, API_VERSION, "ExportApproval", namespace=owner.namespace)
    digest = policies_hash(owner, policies, approvals) if policies else None
    return Policies(policies, approvals, digest)


def carry_out_classify(
    ctx: OperatorContext,
    owner: TableOwner,
    key: ClassifyKey | None,
    plan: Plan,
    classify: RunHistory,
    policies: Policies,
    now: dt.datetime,
) -> RunHistory:
    """Record the due classify run (create-or-adopt by its key's name) and prune old ones."""
    if key is None:
        plan.create = None
    return carry_out(
        ctx,
        owner,
        plan,
        classify,
        lambda: build_classify_job(owner, policies.policies, policies.approvals),
        lambda job, generation, sequence: build_classify_run(
            owner, job, key or ClassifyKey(0, ""), generation, sequence
        ),
        "superseded",
        now,
    )
