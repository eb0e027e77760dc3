"""DataShare: products offered to other tenants or regions through Delta Sharing."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from nidc.api.schema import (
    DNS_LABEL,
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
    """What one recipient was given."""

    name: str = Field(description="Recipient name.")
    token_secret: str | None = Field(
        default=None,
        alias="tokenSecret",
        description="Secret (in this namespace) holding the recipient's profile file.",
    )
    expires_at: str | None = Field(
        default=None,
        alias="expiresAt",
        description="When the token expires.",
        json_schema_extra={"format": "date-time"},
    )


class DataShareStatus(ObservedStatus):
    """Observed state of a share."""

    recipients: list[RecipientStatus] = Field(
        default_factory=list, description="Per-recipient tokens."
    )


DATA_SHARE_RULES: list[dict[str, str]] = []
