"""DataGrant: who may read which columns and rows of a product, for what purpose, until when."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from nidc.api.column_mask import ColumnMask
from nidc.api.schema import (
    DNS_LABEL,
    LocalObjectReference,
    Model,
    ObservedStatus,
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
    expires_at: str | None = Field(
        default=None,
        alias="expiresAt",
        description="When access ends.",
        json_schema_extra={"format": "date-time"},
    )


DATA_GRANT_RULES = [
    {
        "rule": "self.grantee.kind != 'ServiceAccount' || self.grantee.name.matches('"
        + DNS_LABEL
        + "')",
        "message": "spec.grantee.name must be a service account name (DNS label)",
        "fieldPath": ".grantee.name",
    },
]
