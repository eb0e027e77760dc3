"""ExportApproval: a recorded approval for grade 2/3 data to leave its tenant (or be downgraded)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from nidc.api.resource import CustomResource
from nidc.api.schema import (
    DNS_LABEL,
    GradeField,
    Model,
    ObservedStatus,
)
from nidc.api.tenant import Person


class ExportApprovalSpec(Model):
    """Who approved what, on which evidence, until when."""

    approver: Person = Field(description="The person who approved (data security officer).")
    products: list[Annotated[str, Field(pattern=DNS_LABEL, max_length=63)]] = Field(
        description="Names of the DataProducts it covers.",
        min_length=1,
        max_length=100,
    )
    max_grade: GradeField = Field(alias="maxGrade", description="Highest grade it covers.")
    destination: str | None = Field(
        default=None,
        description="Tenant or region the data may go to (empty: any).",
        pattern=DNS_LABEL,
    )
    evidence: str = Field(
        description="Where the decision is documented (ticket, minutes, risk assessment).",
        min_length=5,
        max_length=2048,
    )
    expires_at: str = Field(
        alias="expiresAt",
        description="When the approval lapses (RFC 3339).",
        json_schema_extra={"format": "date-time"},
    )


class ApprovalUser(Model):
    """A resource that names the approval in its spec.exportApproval."""

    kind: str = Field(description="DataShare, DataGrant or DataReplication.")
    name: str = Field(description="Its name (in the approval's namespace).")


class ExportApprovalStatus(ObservedStatus):
    """Observed state of an approval."""

    valid: bool | None = Field(
        default=None, description="Whether the approval is in force (not expired)."
    )
    expires_at: str | None = Field(
        default=None,
        alias="expiresAt",
        description="When the approval lapses.",
        json_schema_extra={"format": "date-time"},
    )
    used_by: list[ApprovalUser] = Field(
        default_factory=list,
        alias="usedBy",
        description="The shares, grants and replications that name it.",
    )


class ExportApproval(CustomResource):
    """An ExportApproval as reconcilers see it."""

    kind: Literal["ExportApproval"] = "ExportApproval"
    spec: ExportApprovalSpec


EXPORT_APPROVAL_RULES = [
    {
        "rule": "self == oldSelf",
        "message": "an ExportApproval is a record: its spec cannot change; issue a new one",
    },
]
