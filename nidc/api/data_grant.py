"""DataGrant: who may read which columns and rows of a product, for what purpose, until when."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import Field

from nidc.api.column_mask import ColumnMask
from nidc.api.resource import CustomResource
from nidc.api.schema import (
    DNS_LABEL,
    GradeField,
    LocalObjectReference,
    Model,
    ObservedStatus,
    RunSummary,
)


class GranteeKind(StrEnum):
    """Who can receive a grant."""

    TENANT = "Tenant"
    SERVICE_ACCOUNT = "ServiceAccount"
    GROUP = "Group"


class Grantee(Model):
    """The receiver of a grant."""

    kind: GranteeKind = Field(description="Tenant, ServiceAccount (in this namespace) or Group.")
    name: str = Field(description="Its name.", min_length=1, max_length=253)


class DataGrantSpec(Model):
    """Desired state of a grant."""

    grantee: Grantee = Field(description="Who receives access.")
    product: LocalObjectReference = Field(description="The DataProduct granted.")
    columns: list[str] = Field(
        default_factory=list,
        description="Columns granted (empty: all columns the grade allows unmasked).",
        max_length=1000,
        json_schema_extra={"x-kubernetes-list-type": "set"},
    )
    row_filter: str | None = Field(
        default=None,
        alias="rowFilter",
        description="Spark SQL predicate rows must satisfy, e.g. plant = 'shanghai'.",
        max_length=2000,
    )
    masks: list[ColumnMask] = Field(
        default_factory=list,
        description="Masks on top of those the grade bundle asks for.",
        max_length=200,
        json_schema_extra={
            "x-kubernetes-list-type": "map",
            "x-kubernetes-list-map-keys": ["column"],
        },
    )
    purpose: str = Field(
        description="Why access is needed (kept in the audit trail).",
        min_length=10,
        max_length=1024,
    )
    expires_at: str = Field(
        alias="expiresAt",
        description="When access ends (RFC 3339).",
        json_schema_extra={"format": "date-time"},
    )
    export_approval: LocalObjectReference | None = Field(
        default=None,
        alias="exportApproval",
        description="ExportApproval (in this namespace) that lets grade 2 or 3 data reach "
        "another tenant; access ends when it lapses.",
    )


class DataGrantStatus(ObservedStatus):
    """Observed state of a grant."""

    open_bao_policy: str | None = Field(
        default=None, alias="openBaoPolicy", description="The OpenBao policy written for it."
    )
    credential_path: str | None = Field(
        default=None,
        alias="credentialPath",
        description="Where the grantee reads its short-lived S3 credentials.",
    )
    open_bao_role: str | None = Field(
        default=None,
        alias="openBaoRole",
        description="The OpenBao Kubernetes auth role the grantee's service accounts log in with.",
    )
    expires_at: str | None = Field(
        default=None,
        alias="expiresAt",
        description="When access ends.",
        json_schema_extra={"format": "date-time"},
    )
    credential_expires_at: str | None = Field(
        default=None,
        alias="credentialExpiresAt",
        description="When the current short-lived S3 credentials lapse (renewed before then).",
        json_schema_extra={"format": "date-time"},
    )
    grade: GradeField | None = Field(default=None, description="The product's grade it grants.")
    governed_copy_path: str | None = Field(
        default=None,
        alias="governedCopyPath",
        description="The governed copy the credentials read (columns, rows and masks applied).",
    )
    copied_version: int | None = Field(
        default=None,
        alias="copiedVersion",
        ge=0,
        description="The product table version the governed copy holds.",
    )
    last_run: RunSummary | None = Field(
        default=None, alias="lastRun", description="Last governed-copy run."
    )


class DataGrant(CustomResource):
    """A DataGrant as reconcilers see it: typed spec, status as last written."""

    kind: Literal["DataGrant"] = "DataGrant"
    spec: DataGrantSpec


DATA_GRANT_RULES = [
    {
        "rule": "self.grantee.kind != 'ServiceAccount' || self.grantee.name.matches('"
        + DNS_LABEL
        + "')",
        "message": "spec.grantee.name must be a service account name (DNS label)",
        "fieldPath": ".grantee.name",
    },
]
