"""Reconcile a ClusterClassificationPolicy: typed model, review it among the other cluster
policies (pure), status (pure).

Cluster policies have no namespace and ExportApprovals live in a tenant's, so a downgrade in a
cluster policy is never approved: tenants' own policies carry approved overrides.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from nidc.api.classification_policy import ClusterClassificationPolicy
from nidc.api.schema import API_VERSION
from nidc.governance.policy_review import review_policy
from nidc.kube import list_objects
from operators.clients.context import OperatorContext
from operators.reconciling.conditions import invalid_spec_status
from operators.reconciling.policy_status import build_policy_status


def build_status(
    policy: ClusterClassificationPolicy,
    cluster_policies: list[dict[str, Any]],
    now: dt.datetime,
    table_owners: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Review and status (pure); `table_owners`: every DataSource and DataProduct."""
    review = review_policy(policy.to_body(), cluster_policies, {}, now)
    return build_policy_status(policy, review, now, table_owners or [])


def reconcile(body: Mapping[str, Any], ctx: OperatorContext, now: dt.datetime) -> dict[str, Any]:
    """The status to write."""
    try:
        policy = ClusterClassificationPolicy.from_body(body)
    except ValidationError as error:
        return invalid_spec_status(body, error, now)
    owners = [
        *list_objects(ctx.api, API_VERSION, "DataSource"),
        *list_objects(ctx.api, API_VERSION, "DataProduct"),
    ]
    return build_status(
        policy, list_objects(ctx.api, API_VERSION, "ClusterClassificationPolicy"), now, owners
    )
