"""DataShare: products offered to other tenants or regions through Delta Sharing."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import Field

from nidc.api.resource import CustomResource
from nidc.api.schema import (
    DNS_LABEL,
    GradeField,
    LocalObjectReference,
    Model,
    ObservedStatus,
)


class RecipientKind(StrEnum):
    """Who can receive a share."""

    TENANT = "Tenant"
    REGION = "Region"


class Recipient(Model):
    """A receiving tenant or regional center."""

    kind: RecipientKind = Field(description="Tenant or Region.")
    name: str = Field(description="Tenant or region name.", pattern=DNS_LABEL, max_length=63)


class DataShareSpec(Model):
    """Desired state of a share."""

    recipients: list[Recipient] = Field(
        description="Who receives the products.", min_length=1, max_length=100
    )
    products: list[LocalObjectReference] = Field(
        description="DataProducts shared.", min_length=1, max_length=100
    )
    token_ttl: str = Field(
        default="24h",
        alias="tokenTTL",
        description="Lifetime of each recipient's bearer token, e.g. 1h, 7d (at most 30d).",
        pattern=r"^([1-9][0-9]{0,2}h|([1-9]|[12][0-9]|30)d)$",
    )
    export_approval: LocalObjectReference | None = Field(
        default=None,
        alias="exportApproval",
        description="ExportApproval required when a shared product is grade 2 or 3.",
    )


class RecipientStatus(Model):
    """What one recipient was given (never the token itself: only where its profile is)."""

    kind: RecipientKind = Field(default=RecipientKind.TENANT, description="Tenant or Region.")
    name: str = Field(description="Recipient name.")
    profile_path: str | None = Field(
        default=None,
        alias="profilePath",
        description="OpenBao KV path (under the `secret` mount) of the recipient's Delta Sharing "
        "profile file, inside the recipient's own prefix.",
    )
    expires_at: str | None = Field(
        default=None,
        alias="expiresAt",
        description="When the recipient's current token expires.",
        json_schema_extra={"format": "date-time"},
    )


class SharedTable(Model):
    """One table served to one recipient: the governed copy that recipient may read."""

    recipient: str = Field(description="Recipient name.")
    product: str = Field(description="The DataProduct shared.")
    schema_name: str = Field(
        alias="schema", description="Delta Sharing schema the table is listed under."
    )
    table: str = Field(description="Delta Sharing table name.")
    location: str = Field(description="s3://bucket/prefix of the governed copy served.")
    version: int | None = Field(
        default=None, ge=0, description="The product table version the served copy holds."
    )
    grade: GradeField | None = Field(default=None, description="The product's computed grade.")


class DataShareStatus(ObservedStatus):
    """Observed state of a share."""

    recipients: list[RecipientStatus] = Field(
        default_factory=list, description="Per-recipient tokens."
    )
    tables: list[SharedTable] = Field(
        default_factory=list,
        description="What each recipient is served (read by the Delta Sharing server).",
    )


class ShareTokenRecord(Model):
    """What the sharing server finds at `share_token_path(sha256(token))` in OpenBao KV.

    Written by the DataShare reconciler, read by the Delta Sharing server; the token itself is
    stored nowhere but in the recipient's profile. Deleting the record revokes the token.
    """

    namespace: str = Field(description="Namespace of the DataShare.")
    share: str = Field(description="Name of the DataShare (the Delta Sharing share name).")
    recipient: str = Field(description="Recipient name (matches SharedTable.recipient).")
    expires_at: str = Field(alias="expiresAt", description="RFC 3339 expiry of the token.")


class DataShare(CustomResource):
    """A DataShare as reconcilers see it: typed spec, status as last written."""

    kind: Literal["DataShare"] = "DataShare"
    spec: DataShareSpec


class DeltaSharingProfile(Model):
    """The Delta Sharing profile file a recipient reads from OpenBao at its profilePath (the
    protocol's profile format, version 1). Holds the bearer token: it is written to OpenBao
    only, never to status, events, logs or audit records."""

    share_credentials_version: int = Field(
        default=1, alias="shareCredentialsVersion", description="Profile format version."
    )
    endpoint: str = Field(description="The sharing server's URL.")
    bearer_token: str = Field(alias="bearerToken", description="The recipient's token.")
    expiration_time: str = Field(
        alias="expirationTime", description="RFC 3339 expiry of the token."
    )


DATA_SHARE_RULES = [
    {
        "rule": "self.recipients.all(r, self.recipients.exists_one(o, o.kind == r.kind && "
        "o.name == r.name))",
        "message": "spec.recipients: each recipient (kind and name) may appear once",
        "fieldPath": ".recipients",
    },
]
