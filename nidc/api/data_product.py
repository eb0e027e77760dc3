"""DataProduct: a silver or gold Delta table made from sources and other products."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import Field

from nidc.api.analytics import AnalyticRef, AnalyticsParameters, analytic_parameter_rules
from nidc.api.classification_result import Classification
from nidc.api.quality_rules import Quality, QualityRule, quality_rules_field
from nidc.api.resource import CustomResource
from nidc.api.schema import (
    CRON,
    DNS_LABEL,
    TABLE_NAME,
    GradeField,
    LocalObjectReference,
    Model,
    ObservedStatus,
    RunSummary,
)
from nidc.api.tenant import Person


class InputKind(StrEnum):
    """What a product may read."""

    DATA_SOURCE = "DataSource"
    DATA_PRODUCT = "DataProduct"


class Input(Model):
    """One input of a product, in the same namespace."""

    kind: InputKind = Field(description="DataSource or DataProduct.")
    name: str = Field(description="Name of the input object.", pattern=DNS_LABEL, max_length=63)


class Transform(Model):
    """How the product is computed: Spark SQL over the inputs, or a named job."""

    sql: str | None = Field(
        default=None,
        description="Spark SQL; each input is a view named after its table "
        "(bronze.cnc_spindles is cnc_spindles).",
        max_length=20000,
    )
    job: AnalyticRef | None = Field(
        default=None,
        description="A named, versioned analytic (name@version, `nidc analytics ls`), "
        "e.g. anomaly_detection@1.",
    )
    parameters: AnalyticsParameters | None = Field(
        default=None, description="Typed parameters of the named analytic (job)."
    )


class Pool(StrEnum):
    """Which Spark pool runs the product."""

    CPU = "cpu"
    GPU = "gpu"


class ConcurrencyPolicy(StrEnum):
    """What a new run does while one is still going."""

    FORBID = "Forbid"
    REPLACE = "Replace"


class Waiver(Model):
    """Quality rules let through, with a reason and an approver, until the waiver expires."""

    rules: list[str] = Field(
        description="Names of the qualityRules the waiver unblocks.", min_length=1, max_length=64
    )
    reason: str = Field(description="Why the failing rules may be let through.", min_length=1)
    approver: Person = Field(description="Who approved the waiver.")
    expires_at: str = Field(
        alias="expiresAt",
        description="When the waiver stops unblocking the rules (RFC 3339).",
        json_schema_extra={"format": "date-time"},
    )


class DataProductSpec(Model):
    """Desired state of a data product."""

    inputs: list[Input] = Field(
        description="Sources and products it reads.", min_length=1, max_length=32
    )
    transform: Transform = Field(description="Exactly one of sql and job.")
    pool: Pool = Field(default=Pool.CPU, description="Spark pool: cpu or gpu.")
    quality_rules: list[QualityRule] = quality_rules_field()
    waivers: list[Waiver] = Field(
        default_factory=list,
        description="Waivers of failing blocking quality rules, each until it expires.",
        max_length=16,
    )
    schedule: str | None = Field(
        default=None,
        description="Cron schedule; without one, runs when an input changes.",
        pattern=CRON,
    )
    concurrency_policy: ConcurrencyPolicy = Field(
        default=ConcurrencyPolicy.FORBID,
        alias="concurrencyPolicy",
        description="Forbid waits for the running run; Replace cancels it.",
    )
    history_limit: int = Field(
        default=5,
        alias="historyLimit",
        ge=1,
        le=100,
        description="Finished runs kept as PipelineRun objects.",
    )
    max_attempts: int = Field(
        default=3,
        alias="maxAttempts",
        ge=1,
        le=10,
        description="Attempts a run gets before it fails (with backoff between them).",
    )
    owner: Person = Field(description="The person accountable for the product.")
    grade: GradeField | None = Field(
        default=None,
        description="Declared grade. Lowering it requires spec.gradeDowngradeApproval.",
    )
    grade_downgrade_approval: LocalObjectReference | None = Field(
        default=None,
        alias="gradeDowngradeApproval",
        description="ExportApproval that authorizes lowering spec.grade.",
    )
    target_table: str = Field(
        alias="targetTable",
        description="The silver or gold Delta table, e.g. gold.oee_daily. Immutable.",
        pattern=TABLE_NAME,
        json_schema_extra={
            "x-kubernetes-validations": [
                {"rule": "self == oldSelf", "message": "targetTable is immutable"}
            ]
        },
    )


class DataProductStatus(ObservedStatus):
    """Observed state of a data product."""

    table_version: int | None = Field(
        default=None, alias="tableVersion", ge=0, description="Current Delta table version."
    )
    rows: int | None = Field(default=None, ge=0, description="Rows in the table.")
    quality: Quality | None = Field(default=None, description="Last quality result.")
    last_good_version: int | None = Field(
        default=None,
        alias="lastGoodVersion",
        ge=0,
        description="The last table version whose quality gate passed: what downstream reads.",
    )
    waived_rules: list[str] = Field(
        default_factory=list,
        alias="waivedRules",
        description="Failing blocking rules a live waiver lets through.",
    )
    grade: GradeField | None = Field(
        default=None,
        description="Effective grade: the computed grade once classified, else the declared one.",
    )
    computed_grade: GradeField | None = Field(
        default=None,
        alias="computedGrade",
        description="Grade the last classify pass computed: max(columns, declared floor).",
    )
    policies_hash: str | None = Field(
        default=None,
        alias="policiesHash",
        description="Digest of the classification policies and approvals now in force.",
    )
    classification: Classification | None = Field(
        default=None, description="The classify pass the computed grade comes from."
    )
    lineage: list[str] = Field(default_factory=list, description="Upstream tables, as kind/name.")
    last_run: RunSummary | None = Field(default=None, alias="lastRun", description="Last run.")
    next_run: str | None = Field(
        default=None,
        alias="nextRun",
        description="Next scheduled run.",
        json_schema_extra={"format": "date-time"},
    )


DATA_PRODUCT_RULES = [
    {
        "rule": "has(self.transform.sql) != has(self.transform.job)",
        "message": "exactly one of spec.transform.sql and spec.transform.job must be set",
        "fieldPath": ".transform",
    },
    {
        "rule": "!has(oldSelf.grade) || !has(self.grade) || self.grade >= oldSelf.grade || "
        "has(self.gradeDowngradeApproval)",
        "message": "lowering spec.grade requires spec.gradeDowngradeApproval (an ExportApproval)",
        "fieldPath": ".grade",
    },
    *analytic_parameter_rules(),
]


class DataProduct(CustomResource):
    """A DataProduct as reconcilers see it: typed spec, status as last written."""

    kind: Literal["DataProduct"] = "DataProduct"
    spec: DataProductSpec
