"""The classify job's spec for a table, from the typed resource that owns it (pure).

A reconciler that owns a table (DataSource: its bronze table; DataProduct: its product) builds
this with the cluster policies, the tenant's policies and its ExportApprovals, and records it
as a PipelineRun like any other job.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from nidc.api.addressing import table_path
from nidc.api.classification_policy import ClassificationPolicySpec
from nidc.api.data_product import DataProduct
from nidc.api.data_source import DataSource
from nidc.api.job_specs import ApprovalTerms, ClassifyJob, PolicyDocument

CLUSTER_KIND = "ClusterClassificationPolicy"


def policy_document(body: Mapping[str, Any]) -> PolicyDocument:
    """A policy custom resource as the job reads it."""
    metadata = body.get("metadata") or {}
    return PolicyDocument(
        kind=body["kind"],
        name=metadata["name"],
        namespace=metadata.get("namespace", ""),
        spec=ClassificationPolicySpec.model_validate(body.get("spec") or {}),
    )


def build_classify_job(
    owner: DataSource | DataProduct,
    policies: Sequence[Mapping[str, Any]],
    approvals: Sequence[Mapping[str, Any]] = (),
    traceparent: str = "",
) -> ClassifyJob:
    """The classify job of the owner's table: cluster policies first, then the namespace's."""
    ordered = sorted(policies, key=lambda p: (p["kind"] != CLUSTER_KIND, p["metadata"]["name"]))
    table = owner.spec.target_table
    return ClassifyJob(
        tenant=owner.namespace,
        table=table,
        path=table_path(owner.namespace, table),
        policies=[policy_document(p) for p in ordered],
        declared_floor=owner.spec.grade,
        default_domain=getattr(owner.spec, "domain", None),
        approvals={
            a["metadata"]["name"]: ApprovalTerms(
                max_grade=a["spec"]["maxGrade"], expires_at=a["spec"]["expiresAt"]
            )
            for a in approvals
        },
        traceparent=traceparent,
    )
