"""Reconcile a ClassificationPolicy: observe the baseline and approvals, review, status.

The policy creates nothing, so there is nothing to apply: the review (pure,
nidc/governance/policy_review.py) becomes conditions and counts.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from nidc.api.schema import API_VERSION
from nidc.governance.policy_review import review_policy
from nidc.kube import list_objects
from operators.clients.context import OperatorContext
from operators.reconciling.policy_status import build_policy_status


@dataclass(frozen=True)
class Observed:
    """The cluster policies and the namespace's ExportApprovals, by name."""

    cluster_policies: list[dict[str, Any]]
    approvals: dict[str, dict[str, Any]]


def observe(policy: dict[str, Any], ctx: OperatorContext) -> Observed:
    namespace = policy["metadata"]["namespace"]
    approvals = list_objects(ctx.api, API_VERSION, "ExportApproval", namespace=namespace)
    return Observed(
        cluster_policies=list_objects(ctx.api, API_VERSION, "ClusterClassificationPolicy"),
        approvals={a["metadata"]["name"]: a for a in approvals},
    )


def build_status(policy: dict[str, Any], observed: Observed, now: dt.datetime) -> dict[str, Any]:
    """Review and status (pure)."""
    review = review_policy(policy, observed.cluster_policies, observed.approvals, now)
    return build_policy_status(policy, review, now.strftime("%Y-%m-%dT%H:%M:%SZ"))


def reconcile(policy: dict[str, Any], ctx: OperatorContext, now: dt.datetime) -> dict[str, Any]:
    """The status to write."""
    return build_status(policy, observe(policy, ctx), now)
