"""The vocabulary of every kind's schema: API group, base model, name patterns, grades, domains,
conditions, references and run summaries."""

from __future__ import annotations

from enum import IntEnum, StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

GROUP = "nidc.io"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"
CATEGORY = "nidc"

# Kubernetes object names (RFC 1123 labels and subdomains), used in references.
DNS_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
# A Delta table name inside a tenant's lakehouse: layer.table, e.g. bronze.cnc_spindle.
TABLE_NAME = r"^(bronze|silver|gold)\.[a-z][a-z0-9_]{0,62}$"
# Credentials are only ever a path in OpenBao's KV engine, never a value.
OPENBAO_PATH = r"^secret/data/tenants/[a-z0-9-]+/[A-Za-z0-9_./-]+$"
# Five-field cron (minute hour day-of-month month day-of-week) or a @-macro.
CRON = (
    r"^(@(yearly|annually|monthly|weekly|daily|midnight|hourly)|"
    r"((\*|[0-9,\-*/]+)\s+){4}(\*|[0-9A-Za-z,\-*/]+))$"
)


class Model(BaseModel):
    """Base of every schema model: camelCase on the wire, unknown fields refused."""

    model_config = ConfigDict(
        extra="forbid", populate_by_name=True, use_enum_values=True, frozen=True
    )


class Grade(IntEnum):
    """MIIT / GB/T 43697 data grades: 1 general (一般), 2 important (重要), 3 core (核心)."""

    GENERAL = 1
    IMPORTANT = 2
    CORE = 3


class DataDomain(StrEnum):
    """MIIT data domains (工业数据分类分级指南): industrial and platform enterprises."""

    RESEARCH_DESIGN = "research-design"  # 研发数据域
    PRODUCTION_OPERATION = "production-operation"  # 生产数据域
    OPERATIONS_MANAGEMENT = "operations-management"  # 运维数据域
    BUSINESS_MANAGEMENT = "business-management"  # 管理数据域
    EXTERNAL = "external"  # 外部数据域
    # Platform enterprises (工业互联网平台企业) have two domains of their own.
    PLATFORM_OPERATION = "platform-operation"  # 平台运营数据域
    ENTERPRISE_MANAGEMENT = "enterprise-management"  # 企业管理数据域


GradeField = Annotated[
    int,
    Field(
        ge=1,
        le=3,
        description="Data grade: 1 general (一般), 2 important (重要), 3 core (核心).",
    ),
]


class LocalObjectReference(Model):
    """A reference to an object in the same namespace."""

    name: str = Field(
        description="Name of the referenced object.", pattern=DNS_LABEL, max_length=63
    )


class Condition(Model):
    """A standard Kubernetes condition (metav1.Condition)."""

    type: str = Field(description="Kind of condition: Ready, Progressing or Degraded.")
    status: str = Field(
        description="Whether the condition holds.",
        json_schema_extra={"enum": ["True", "False", "Unknown"]},
    )
    reason: str = Field(
        description="Machine-readable, UpperCamelCase reason of the last transition."
    )
    message: str = Field(description="Human-readable detail of the last transition.")
    last_transition_time: str = Field(
        alias="lastTransitionTime",
        description="When the status last changed.",
        json_schema_extra={"format": "date-time"},
    )
    observed_generation: int | None = Field(
        default=None,
        alias="observedGeneration",
        description="The .metadata.generation the condition was computed from.",
        ge=0,
    )


def conditions_field() -> Any:
    """The `conditions` status field: a list keyed by type, as the API conventions ask."""
    return Field(
        default_factory=list,
        description="Ready, Progressing and Degraded, per the Kubernetes API conventions.",
        json_schema_extra={
            "x-kubernetes-list-type": "map",
            "x-kubernetes-list-map-keys": ["type"],
        },
    )


class RunSummary(Model):
    """The outcome of one pipeline run, as shown on its parent."""

    name: str = Field(description="Name of the PipelineRun object.")
    phase: str = Field(
        description="Phase of the run.",
        json_schema_extra={
            "enum": ["Pending", "Submitted", "Running", "Succeeded", "Failed", "Cancelled"]
        },
    )
    started_at: str | None = Field(
        default=None,
        alias="startedAt",
        description="When the run started.",
        json_schema_extra={"format": "date-time"},
    )
    finished_at: str | None = Field(
        default=None,
        alias="finishedAt",
        description="When the run reached a terminal phase.",
        json_schema_extra={"format": "date-time"},
    )


class ObservedStatus(Model):
    """The status fields every kind shares: what generation it describes, and its conditions."""

    observed_generation: int | None = Field(
        default=None,
        alias="observedGeneration",
        ge=0,
        description="The .metadata.generation this status describes.",
    )
    conditions: list[Condition] = conditions_field()
