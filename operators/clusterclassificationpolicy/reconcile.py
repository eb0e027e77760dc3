"""Reconcile a ClusterClassificationPolicy: review it among the other cluster policies.

Overrides in a cluster policy may name approvals only by name; cluster policies have no
namespace, so a downgrade there is never approved (approvals live in a tenant's namespace).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from nidc.api.schema import API_VERSION
from nidc.governance.policy_review import review_policy
from nidc.kube import list_objects
from operators.clients.context import OperatorContext
from operators.reconciling.policy_status import build_policy_status


def build_status(
    policy: dict[str, Any], cluster_policies: list[dict[str, Any]], now: dt.datetime
) -> dict[str, Any]:
    """Review and status (pure)."""
    review = review_policy(policy, cluster_policies, {}, now)
    return build_policy_status(policy, review, now.strftime("%Y-%m-%dT%H:%M:%SZ"))


def reconcile(policy: dict[str, Any], ctx: OperatorContext, now: dt.datetime) -> dict[str, Any]:
    """The status to write."""
    cluster_policies = list_objects(ctx.api, API_VERSION, "ClusterClassificationPolicy")
    return build_status(policy, cluster_policies, now)
