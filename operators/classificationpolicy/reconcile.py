"""Reconcile a ClassificationPolicy: typed model, observe the baseline, the approvals and the
namespace's tables, review (pure), status (pure).

The policy creates nothing, so there is nothing to apply: the review
(nidc/governance/policy_review.py) becomes conditions and counts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from nidc.api.classification_policy import ClassificationPolicy
from nidc.api.schema import API_VERSION
from nidc.governance.policy_review import review_policy
from nidc.kube import list_objects
from operators.clients.context import OperatorContext
from operators.reconciling.conditions import invalid_spec_status
from operators.reconciling.policy_status import build_policy_status


@dataclass(frozen=True)
class Observed:
    """The cluster policies and the namespace's ExportApprovals, by name."""

    cluster_policies: list[dict[str, Any]]
    approvals: dict[str, dict[str, Any]]
    table_owners: list[dict[str, Any]]


def observe(policy: ClassificationPolicy, ctx: OperatorContext) -> Observed:
    approvals = list_objects(ctx.api, API_VERSION, "ExportApproval", namespace=policy.namespace)
    owners = [
        *list_objects(ctx.api, API_VERSION, "DataSource", namespace=policy.namespace),
        *list_objects(ctx.api, API_VERSION, "DataProduct", namespace=policy.namespace),
    ]
    return Observed(
        cluster_policies=list_objects(ctx.api, API_VERSION, "ClusterClassificationPolicy"),
        approvals={a["metadata"]["name"]: a for a in approvals},
        table_owners=owners,
    )


def build_status(
    policy: ClassificationPolicy, observed: Observed, now: dt.datetime
) -> dict[str, Any]:
    """Review and status (pure)."""
    review = review_policy(policy.to_body(), observed.cluster_policies, observed.approvals, now)
    return build_policy_status(policy, review, now, observed.table_owners)


def reconcile(body: Mapping[str, Any], ctx: OperatorContext, now: dt.datetime) -> dict[str, Any]:
    """The status to write."""
    try:
        policy = ClassificationPolicy.from_body(body)
    except ValidationError as error:
        return invalid_spec_status(body, error, now)
    return build_status(policy, observe(policy, ctx), now)
