"""Tenant (cluster-scoped): a factory or enterprise group and everything it is given."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import Field

from nidc.api.resource import CustomResource
from nidc.api.schema import (
    DNS_LABEL,
    DataDomain,
    GradeField,
    Model,
    ObservedStatus,
)


def tenant_group(tenant: str, role: str) -> str:
    """The group a tenant role is bound to, e.g. nidc:tenant:steel-plant:analysts.

    Part of the API: people are made members of a tenant role by their identity provider
    putting them in this group (locally: the O field of their client certificate).
    """
    return f"nidc:tenant:{tenant}:{role}s"


QUANTITY = r"^[0-9]+(\.[0-9]+)?(m|k|Ki|Mi|Gi|Ti|M|G|T)?$"


class DeletionPolicy(StrEnum):
    """What happens to a tenant's data when the Tenant is deleted."""

    RETAIN = "Retain"
    DELETE = "Delete"


class Person(Model):
    """An accountable person (数据负责人)."""

    name: str = Field(description="Full name.", min_length=1, max_length=128)
    email: str = Field(
        description="Work e-mail address.",
        pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$",
        max_length=254,
    )


class Quotas(Model):
    """Compute and storage the tenant's namespace may use (a ResourceQuota)."""

    cpu: str = Field(
        default="16", description="Total CPU requests, as a quantity.", pattern=QUANTITY
    )
    memory: str = Field(
        default="64Gi", description="Total memory requests, as a quantity.", pattern=QUANTITY
    )
    gpus: int = Field(
        default=0, ge=0, le=64, description="Total `requests.nvidia.com/gpu` (GPU pool jobs)."
    )
    pods: int = Field(default=100, ge=1, le=5000, description="Maximum number of pods.")
    storage: str = Field(
        default="500Gi",
        description="Total persistent volume claims, as a quantity.",
        pattern=QUANTITY,
    )


class DefaultClassification(Model):
    """What a new data set of this tenant is until classification says otherwise."""

    domain: DataDomain = Field(
        default=DataDomain.PRODUCTION_OPERATION, description="MIIT industrial data domain."
    )
    grade: GradeField = 2


class TenantSpec(Model):
    """Desired state of a tenant."""

    display_name: str = Field(
        alias="displayName",
        description="Human-readable name, e.g. 华东钢铁有限公司.",
        min_length=1,
        max_length=128,
    )
    owner: Person = Field(description="The person accountable for the tenant's data.")
    region: str = Field(
        description="The regional center that holds the tenant's core (grade 3) data.",
        pattern=DNS_LABEL,
        max_length=32,
    )
    clearance: GradeField = Field(
        default=2,
        description="Highest grade of data the tenant may receive through shares "
        "(1 general, 2 important, 3 core).",
        ge=1,
        le=3,
    )
    quotas: Quotas = Field(default_factory=Quotas, description="Compute and storage quotas.")
    default_classification: DefaultClassification = Field(
        default_factory=DefaultClassification,
        alias="defaultClassification",
        description="Domain and grade of a new data set before it is classified.",
    )
    deletion_policy: DeletionPolicy = Field(
        default=DeletionPolicy.RETAIN,
        alias="deletionPolicy",
        description="Retain (default) keeps the tenant's bucket and OpenBao secrets when the "
        "Tenant is deleted; Delete removes them.",
    )


class TenantStatus(ObservedStatus):
    """Observed state of a tenant."""

    namespace: str | None = Field(default=None, description="The tenant's namespace.")
    bucket: str | None = Field(default=None, description="The tenant's S3 bucket.")
    open_bao_policy: str | None = Field(
        default=None, alias="openBaoPolicy", description="Name of the tenant's OpenBao policy."
    )
    open_bao_role: str | None = Field(
        default=None,
        alias="openBaoRole",
        description="OpenBao Kubernetes auth role bound to the tenant's service accounts.",
    )


class Tenant(CustomResource):
    """A Tenant as reconcilers see it: typed spec, status as last written."""

    kind: Literal["Tenant"] = "Tenant"
    spec: TenantSpec
